CREATE TABLE meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);

CREATE TABLE merchants (
  id BIGSERIAL PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  webhook_url TEXT NOT NULL DEFAULT '',
  webhook_content_type TEXT NOT NULL DEFAULT 'json',
  created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id BIGSERIAL PRIMARY KEY,
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  imp_key TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0,
  token_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_merchant ON api_keys(merchant_id);

CREATE TABLE access_tokens (
  id BIGSERIAL PRIMARY KEY,
  api_key_id BIGINT NOT NULL REFERENCES api_keys(id),
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  seq BIGINT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_key ON access_tokens(api_key_id, expires_at);

CREATE TABLE data_keys (
  merchant_id BIGINT NOT NULL,
  version INTEGER NOT NULL,
  master_version INTEGER NOT NULL,
  wrapped BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (merchant_id, version)
);

CREATE TABLE channels (
  id BIGSERIAL PRIMARY KEY,
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  provider TEXT NOT NULL,
  mid TEXT NOT NULL,
  live INTEGER NOT NULL DEFAULT 0,
  is_default INTEGER NOT NULL DEFAULT 0,
  base_url TEXT NOT NULL DEFAULT '',
  credentials_enc BYTEA,
  created_at BIGINT NOT NULL,
  UNIQUE (merchant_id, provider, mid)
);

CREATE TABLE customers (
  id BIGSERIAL PRIMARY KEY,
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  customer_uid TEXT NOT NULL,
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  pg_provider TEXT NOT NULL,
  pg_id TEXT NOT NULL,
  sandbox INTEGER NOT NULL DEFAULT 0,
  billing_key_enc BYTEA NOT NULL,
  pay_method TEXT NOT NULL DEFAULT 'card',
  card_name TEXT,
  card_code TEXT,
  card_number TEXT,
  card_type INTEGER,
  customer_id TEXT,
  customer_name TEXT,
  customer_tel TEXT,
  customer_email TEXT,
  customer_addr TEXT,
  customer_postcode TEXT,
  inserted BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  UNIQUE (merchant_id, customer_uid)
);

CREATE TABLE payments (
  id BIGSERIAL PRIMARY KEY,
  merchant_id BIGINT NOT NULL REFERENCES merchants(id),
  imp_uid TEXT NOT NULL UNIQUE,
  merchant_uid TEXT NOT NULL,
  status TEXT NOT NULL,
  pg_state TEXT NOT NULL DEFAULT '',
  inflight_until BIGINT NOT NULL DEFAULT 0,
  amount BIGINT NOT NULL,
  cancel_amount BIGINT NOT NULL DEFAULT 0,
  tax_free BIGINT NOT NULL DEFAULT 0,
  currency TEXT NOT NULL DEFAULT 'KRW',
  pay_method TEXT NOT NULL DEFAULT 'card',
  channel TEXT NOT NULL DEFAULT 'api',
  channel_id BIGINT NOT NULL DEFAULT 0,
  pg_provider TEXT NOT NULL DEFAULT '',
  pg_id TEXT NOT NULL DEFAULT '',
  pg_tid TEXT,
  sandbox INTEGER NOT NULL DEFAULT 0,
  customer_uid TEXT,
  customer_uid_usage TEXT,
  name TEXT,
  buyer_name TEXT,
  buyer_email TEXT,
  buyer_tel TEXT,
  buyer_addr TEXT,
  buyer_postcode TEXT,
  custom_data TEXT,
  user_agent TEXT,
  card_name TEXT,
  card_code TEXT,
  card_number TEXT,
  card_type INTEGER,
  card_quota INTEGER NOT NULL DEFAULT 0,
  apply_num TEXT,
  receipt_url TEXT,
  fail_reason TEXT,
  cancel_reason TEXT,
  notice_url TEXT,
  window_state TEXT,
  started_at BIGINT NOT NULL,
  paid_at BIGINT NOT NULL DEFAULT 0,
  failed_at BIGINT NOT NULL DEFAULT 0,
  cancelled_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
-- One live payment per merchant_uid: a merchant_uid whose attempts all failed may be tried again.
CREATE UNIQUE INDEX payments_merchant_uid_live ON payments(merchant_id, merchant_uid) WHERE status <> 'failed';
CREATE INDEX payments_merchant_uid ON payments(merchant_id, merchant_uid, started_at);
CREATE INDEX payments_status ON payments(merchant_id, status, started_at);
CREATE INDEX payments_customer ON payments(merchant_id, customer_uid, started_at);
CREATE INDEX payments_inflight ON payments(pg_state, inflight_until) WHERE pg_state <> '';

CREATE TABLE payment_cancels (
  id BIGSERIAL PRIMARY KEY,
  payment_id BIGINT NOT NULL REFERENCES payments(id),
  pg_tid TEXT NOT NULL,
  amount BIGINT NOT NULL,
  reason TEXT NOT NULL,
  cancelled_at BIGINT NOT NULL,
  cancellation_id TEXT NOT NULL,
  receipt_url TEXT
);
CREATE INDEX payment_cancels_payment ON payment_cancels(payment_id);

CREATE TABLE prepares (
  merchant_id BIGINT NOT NULL,
  merchant_uid TEXT NOT NULL,
  amount BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (merchant_id, merchant_uid)
);
