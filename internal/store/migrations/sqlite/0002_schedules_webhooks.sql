-- Scheduled charges (POST /subscribe/payments/schedule). status is billkey's:
-- scheduled | executing (claimed by one worker, lease_until in real unix
-- seconds) | executed | revoked; the wire shows executing as scheduled.
CREATE TABLE schedules (
  id INTEGER PRIMARY KEY,
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  customer_uid TEXT NOT NULL,
  merchant_uid TEXT NOT NULL,
  customer_id TEXT,
  schedule_at BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  tax_free BIGINT NOT NULL DEFAULT 0,
  vat_amount BIGINT,
  currency TEXT NOT NULL DEFAULT 'KRW',
  name TEXT,
  buyer_name TEXT,
  buyer_email TEXT,
  buyer_tel TEXT,
  buyer_addr TEXT,
  buyer_postcode TEXT,
  custom_data TEXT,
  notice_url TEXT,
  card_quota BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  imp_uid TEXT,
  payment_status TEXT,
  fail_reason TEXT,
  executed_at BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT NOT NULL DEFAULT 0,
  retry_at BIGINT NOT NULL DEFAULT 0,
  retries BIGINT NOT NULL DEFAULT 0,
  claimed_from TEXT NOT NULL DEFAULT '',
  prior_payments BIGINT NOT NULL DEFAULT 0,
  lease_until BIGINT NOT NULL DEFAULT 0,
  enqueue_seq BIGINT NOT NULL DEFAULT 0,
  enqueued_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (merchant_id, merchant_uid)
);
CREATE INDEX schedules_due ON schedules(status, schedule_at);
CREATE INDEX schedules_retry ON schedules(retry_at) WHERE retry_at > 0;
CREATE INDEX schedules_range ON schedules(merchant_id, schedule_at);
CREATE INDEX schedules_customer ON schedules(merchant_id, customer_uid, schedule_at);

-- Optional per-merchant retry policy for failed scheduled charges.
CREATE TABLE schedule_retry_policies (
  merchant_id BIGINT PRIMARY KEY REFERENCES merchants(id),
  delays TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Webhook outbox: one row per notification, written in the transaction that
-- committed the payment change. body is the exact bytes every attempt sends.
CREATE TABLE webhook_events (
  id INTEGER PRIMARY KEY,
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  event_id TEXT NOT NULL UNIQUE,
  imp_uid TEXT NOT NULL,
  merchant_uid TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL,
  url TEXT NOT NULL,
  content_type TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL DEFAULT 0,
  enqueue_seq BIGINT NOT NULL DEFAULT 0,
  enqueued_at BIGINT NOT NULL DEFAULT 0,
  delivered_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_events_due ON webhook_events(state, next_attempt_at);
CREATE INDEX webhook_events_payment ON webhook_events(merchant_id, imp_uid);
CREATE INDEX webhook_events_created ON webhook_events(merchant_id, created_at);

CREATE TABLE webhook_attempts (
  id INTEGER PRIMARY KEY,
  event_id BIGINT NOT NULL REFERENCES webhook_events(id),
  attempt BIGINT NOT NULL,
  manual INTEGER NOT NULL DEFAULT 0,
  url TEXT NOT NULL,
  status_code BIGINT NOT NULL DEFAULT 0,
  error TEXT,
  duration_ms BIGINT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_event ON webhook_attempts(event_id, id);

-- Per-merchant Standard Webhooks signing secret (whsec_…), sealed by the vault.
CREATE TABLE webhook_secrets (
  merchant_id BIGINT PRIMARY KEY REFERENCES merchants(id),
  secret_enc BLOB NOT NULL,
  created_at BIGINT NOT NULL
);
