package store

import (
	"context"
	"strings"
)

// Webhook event states.
const (
	WebhookPending   = "pending"   // an attempt is due at next_attempt_at
	WebhookDelivered = "delivered" // a 2xx answer was received
	WebhookFailed    = "failed"    // every attempt failed; only a manual resend sends it again
)

// WebhookEvent is one notification in the outbox.
type WebhookEvent struct {
	ID            int64
	MerchantID    int64
	EventID       string // the stable webhook-id
	ImpUID        string
	MerchantUID   string
	Status        string
	Reason        string
	URL           string
	ContentType   string // json | form
	Body          string
	State         string
	Attempts      int64
	NextAttemptAt int64 // clock unix seconds
	LeaseUntil    int64 // real unix seconds
	EnqueueSeq    int64
	EnqueuedAt    int64
	DeliveredAt   int64
	CreatedAt     int64
	UpdatedAt     int64

	AttemptLog []WebhookAttempt // filled by WebhookEvents
}

// WebhookAttempt is one recorded delivery attempt.
type WebhookAttempt struct {
	ID         int64
	EventID    int64
	Attempt    int64
	Manual     bool
	URL        string
	StatusCode int64 // 0: no HTTP answer
	Error      string
	DurationMS int64
	At         int64
}

const webhookCols = `id, merchant_id, event_id, imp_uid, merchant_uid, status, reason, url, content_type, body, state, attempts,
	next_attempt_at, lease_until, enqueue_seq, enqueued_at, delivered_at, created_at, updated_at`

func scanWebhook(row interface{ Scan(...any) error }) (WebhookEvent, error) {
	var e WebhookEvent
	err := row.Scan(&e.ID, &e.MerchantID, &e.EventID, &e.ImpUID, &e.MerchantUID, &e.Status, &e.Reason, &e.URL, &e.ContentType,
		&e.Body, &e.State, &e.Attempts, &e.NextAttemptAt, &e.LeaseUntil, &e.EnqueueSeq, &e.EnqueuedAt, &e.DeliveredAt,
		&e.CreatedAt, &e.UpdatedAt)
	return e, mapErr(err)
}

// InsertWebhookEvent adds a notification to the outbox.
func (q Q) InsertWebhookEvent(ctx context.Context, e WebhookEvent) (WebhookEvent, error) {
	return scanWebhook(q.QueryRow(ctx, `INSERT INTO webhook_events (merchant_id, event_id, imp_uid, merchant_uid, status, reason, url,
		content_type, body, state, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING `+webhookCols,
		e.MerchantID, e.EventID, e.ImpUID, e.MerchantUID, e.Status, e.Reason, e.URL, e.ContentType, e.Body, WebhookPending,
		e.NextAttemptAt, e.CreatedAt))
}

// WebhookEventByID reads an event of any merchant (the workers' view).
func (q Q) WebhookEventByID(ctx context.Context, id int64) (WebhookEvent, error) {
	return scanWebhook(q.QueryRow(ctx, `SELECT `+webhookCols+` FROM webhook_events WHERE id = $1`, id))
}

// WebhookFilter selects a merchant's events.
type WebhookFilter struct {
	MerchantID  int64
	ImpUID      string
	MerchantUID string
	State       string
	Limit       int
	Offset      int
}

// WebhookEvents lists a merchant's events, newest first, with their attempts.
func (q Q) WebhookEvents(ctx context.Context, f WebhookFilter) ([]WebhookEvent, int64, error) {
	where := []string{"merchant_id = $1"}
	args := []any{f.MerchantID}
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, col+" = $"+itoa(len(args)))
		}
	}
	add("imp_uid", f.ImpUID)
	add("merchant_uid", f.MerchantUID)
	add("state", f.State)
	cond := strings.Join(where, " AND ")
	var total int64
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_events WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	rows, err := q.Query(ctx, `SELECT `+webhookCols+` FROM webhook_events WHERE `+cond+` ORDER BY id DESC LIMIT `+itoa(limit)+
		` OFFSET `+itoa(max(f.Offset, 0)), args...)
	if err != nil {
		return nil, 0, err
	}
	var out []WebhookEvent
	for rows.Next() {
		e, err := scanWebhook(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for i := range out {
		if out[i].AttemptLog, err = q.WebhookAttempts(ctx, out[i].ID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// WebhookAttempts lists an event's attempts, oldest first.
func (q Q) WebhookAttempts(ctx context.Context, eventID int64) ([]WebhookAttempt, error) {
	rows, err := q.Query(ctx, `SELECT id, event_id, attempt, manual, url, status_code, error, duration_ms, at
		FROM webhook_attempts WHERE event_id = $1 ORDER BY id`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []WebhookAttempt{}
	for rows.Next() {
		var a WebhookAttempt
		if err := rows.Scan(&a.ID, &a.EventID, &a.Attempt, boolInt{&a.Manual}, &a.URL, &a.StatusCode, nullStr{&a.Error},
			&a.DurationMS, &a.At); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// EnqueueDueWebhooks marks up to limit pending events whose attempt is due
// (clock `now`) as enqueued, unless enqueued since staleBefore (real unix
// seconds), and returns their ids with the new enqueue sequence.
func (q Q) EnqueueDueWebhooks(ctx context.Context, now, realNow, staleBefore int64, limit int) ([]EnqueuedItem, error) {
	rows, err := q.Query(ctx, `UPDATE webhook_events SET enqueue_seq = enqueue_seq + 1, enqueued_at = $1
		WHERE id IN (SELECT id FROM webhook_events WHERE state = 'pending' AND next_attempt_at <= $2 AND enqueued_at < $3
			ORDER BY next_attempt_at LIMIT `+itoa(limit)+`)
		AND enqueued_at < $3 RETURNING id, enqueue_seq`, realNow, now, staleBefore)
	if err != nil {
		return nil, err
	}
	return scanEnqueued(rows)
}

// ClaimWebhook leases a pending, due event for one delivery attempt (manual:
// any state, for a resend). ErrNotFound when it is not claimable.
func (q Q) ClaimWebhook(ctx context.Context, id, now, realNow, leaseUntil int64, manual bool) (WebhookEvent, error) {
	cond := `state = 'pending' AND next_attempt_at <= $3 AND lease_until < $2`
	if manual {
		cond = `lease_until < $2 AND created_at <= $3 + created_at`
	}
	res, err := q.Exec(ctx, `UPDATE webhook_events SET lease_until = $4 WHERE id = $1 AND `+cond, id, realNow, now, leaseUntil)
	if err != nil {
		return WebhookEvent{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return WebhookEvent{}, ErrNotFound
	}
	return q.WebhookEventByID(ctx, id)
}

// RecordWebhookAttempt stores an attempt and the event's next state:
// delivered, pending again at nextAt, or failed (nextAt 0 and not delivered).
func (q Q) RecordWebhookAttempt(ctx context.Context, a WebhookAttempt, delivered bool, nextAt, now int64) (WebhookEvent, error) {
	if _, err := q.Exec(ctx, `INSERT INTO webhook_attempts (event_id, attempt, manual, url, status_code, error, duration_ms, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.EventID, a.Attempt, b2i(a.Manual), a.URL, a.StatusCode, nz(a.Error),
		a.DurationMS, a.At); err != nil {
		return WebhookEvent{}, err
	}
	var err error
	switch {
	case delivered:
		_, err = q.Exec(ctx, `UPDATE webhook_events SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, lease_until = 0,
			updated_at = $1 WHERE id = $2`, now, a.EventID)
	case a.Manual:
		// A failed manual resend leaves the event's own schedule alone.
		_, err = q.Exec(ctx, `UPDATE webhook_events SET attempts = attempts + 1, lease_until = 0, updated_at = $1 WHERE id = $2`, now, a.EventID)
	case nextAt > 0:
		_, err = q.Exec(ctx, `UPDATE webhook_events SET state = 'pending', attempts = attempts + 1, next_attempt_at = $1, lease_until = 0,
			enqueued_at = 0, updated_at = $2 WHERE id = $3`, nextAt, now, a.EventID)
	default:
		_, err = q.Exec(ctx, `UPDATE webhook_events SET state = CASE WHEN state = 'delivered' THEN state ELSE 'failed' END,
			attempts = attempts + 1, lease_until = 0, updated_at = $1 WHERE id = $2`, now, a.EventID)
	}
	if err != nil {
		return WebhookEvent{}, err
	}
	return q.WebhookEventByID(ctx, a.EventID)
}

// WebhookSecret returns the merchant's sealed signing secret (ErrNotFound: unsigned).
func (q Q) WebhookSecret(ctx context.Context, merchantID int64) ([]byte, error) {
	var b []byte
	err := q.QueryRow(ctx, `SELECT secret_enc FROM webhook_secrets WHERE merchant_id = $1`, merchantID).Scan(&b)
	return b, mapErr(err)
}

// SetWebhookSecret stores (nil: removes) the merchant's sealed signing secret.
func (q Q) SetWebhookSecret(ctx context.Context, merchantID int64, enc []byte, now int64) error {
	if enc == nil {
		_, err := q.Exec(ctx, `DELETE FROM webhook_secrets WHERE merchant_id = $1`, merchantID)
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO webhook_secrets (merchant_id, secret_enc, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (merchant_id) DO UPDATE SET secret_enc = excluded.secret_enc, created_at = excluded.created_at`, merchantID, enc, now)
	return err
}

// WebhookEventByEventID reads a merchant's event by its webhook-id.
func (q Q) WebhookEventByEventID(ctx context.Context, merchantID int64, eventID string) (WebhookEvent, error) {
	return scanWebhook(q.QueryRow(ctx, `SELECT `+webhookCols+` FROM webhook_events WHERE merchant_id = $1 AND event_id = $2`, merchantID, eventID))
}
