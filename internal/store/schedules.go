package store

import (
	"context"
	"strings"
)

// Schedule states (billkey's; the wire shows executing as scheduled).
const (
	ScheduleScheduled = "scheduled"
	ScheduleExecuting = "executing"
	ScheduleExecuted  = "executed"
	ScheduleRevoked   = "revoked"
)

// Schedule is one scheduled charge (i'mport ScheduleResultAnnotation) with
// billkey's execution bookkeeping.
type Schedule struct {
	ID            int64
	MerchantID    int64
	CustomerUID   string
	MerchantUID   string
	CustomerID    string
	ScheduleAt    int64
	Amount        int64
	TaxFree       int64
	VatAmount     *int64
	Currency      string
	Name          string
	BuyerName     string
	BuyerEmail    string
	BuyerTel      string
	BuyerAddr     string
	BuyerPostcode string
	CustomData    string
	NoticeURL     string
	CardQuota     int64
	Status        string
	ImpUID        string
	// PaymentStatus is the status of the payment imp_uid names when there is
	// one (so a refunded charge reads cancelled), else the recorded one.
	PaymentStatus string
	FailReason    string
	ExecutedAt    int64
	RevokedAt     int64
	RetryAt       int64 // clock time of the next retry of a failed charge (retry policy); 0 none
	Retries       int64
	ClaimedFrom   string // the status an executing schedule was claimed from
	PriorPayments int64  // payments with this merchant_uid when it was claimed
	LeaseUntil    int64  // real unix seconds; an executing claim older than this may be taken over
	EnqueueSeq    int64
	EnqueuedAt    int64
	CreatedAt     int64
	UpdatedAt     int64
}

const scheduleCols = `s.id, s.merchant_id, s.customer_uid, s.merchant_uid, s.customer_id, s.schedule_at, s.amount, s.tax_free,
	s.vat_amount, s.currency, s.name, s.buyer_name, s.buyer_email, s.buyer_tel, s.buyer_addr, s.buyer_postcode, s.custom_data,
	s.notice_url, s.card_quota, s.status, s.imp_uid, COALESCE(p.status, s.payment_status), s.fail_reason, s.executed_at,
	s.revoked_at, s.retry_at, s.retries, s.claimed_from, s.prior_payments, s.lease_until, s.enqueue_seq, s.enqueued_at,
	s.created_at, s.updated_at`

const scheduleFrom = ` FROM schedules s LEFT JOIN payments p ON p.merchant_id = s.merchant_id AND p.imp_uid = s.imp_uid `

func scanSchedule(row interface{ Scan(...any) error }) (Schedule, error) {
	var s Schedule
	err := row.Scan(&s.ID, &s.MerchantID, &s.CustomerUID, &s.MerchantUID, nullStr{&s.CustomerID}, &s.ScheduleAt, &s.Amount,
		&s.TaxFree, nullInt{&s.VatAmount}, &s.Currency, nullStr{&s.Name}, nullStr{&s.BuyerName}, nullStr{&s.BuyerEmail},
		nullStr{&s.BuyerTel}, nullStr{&s.BuyerAddr}, nullStr{&s.BuyerPostcode}, nullStr{&s.CustomData}, nullStr{&s.NoticeURL},
		&s.CardQuota, &s.Status, nullStr{&s.ImpUID}, nullStr{&s.PaymentStatus}, nullStr{&s.FailReason}, &s.ExecutedAt,
		&s.RevokedAt, &s.RetryAt, &s.Retries, &s.ClaimedFrom, &s.PriorPayments, &s.LeaseUntil, &s.EnqueueSeq, &s.EnqueuedAt,
		&s.CreatedAt, &s.UpdatedAt)
	return s, mapErr(err)
}

func (q Q) schedules(ctx context.Context, query string, args ...any) ([]Schedule, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Schedule
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// InsertSchedule adds a pending schedule; a merchant_uid the merchant already
// scheduled is ErrConflict.
func (q Q) InsertSchedule(ctx context.Context, s Schedule) (Schedule, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO schedules (merchant_id, customer_uid, merchant_uid, customer_id, schedule_at, amount, tax_free,
		vat_amount, currency, name, buyer_name, buyer_email, buyer_tel, buyer_addr, buyer_postcode, custom_data, notice_url,
		card_quota, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) RETURNING id`,
		s.MerchantID, s.CustomerUID, s.MerchantUID, nz(s.CustomerID), s.ScheduleAt, s.Amount, s.TaxFree, nint(s.VatAmount),
		s.Currency, nz(s.Name), nz(s.BuyerName), nz(s.BuyerEmail), nz(s.BuyerTel), nz(s.BuyerAddr), nz(s.BuyerPostcode),
		nz(s.CustomData), nz(s.NoticeURL), s.CardQuota, ScheduleScheduled, s.CreatedAt).Scan(&id)
	if err != nil {
		return Schedule{}, mapErr(err)
	}
	return q.ScheduleByID(ctx, id)
}

// ScheduleByID reads a schedule of any merchant (the workers' view).
func (q Q) ScheduleByID(ctx context.Context, id int64) (Schedule, error) {
	return scanSchedule(q.QueryRow(ctx, `SELECT `+scheduleCols+scheduleFrom+`WHERE s.id = $1`, id))
}

// Schedule reads a merchant's schedule by merchant_uid.
func (q Q) Schedule(ctx context.Context, merchantID int64, merchantUID string) (Schedule, error) {
	return scanSchedule(q.QueryRow(ctx, `SELECT `+scheduleCols+scheduleFrom+`WHERE s.merchant_id = $1 AND s.merchant_uid = $2`,
		merchantID, merchantUID))
}

// ScheduleFilter selects a merchant's schedules.
type ScheduleFilter struct {
	MerchantID  int64
	CustomerUID string
	From, To    int64  // from <= schedule_at < to
	Status      string // "", scheduled (includes executing), executed, revoked
	OldestFirst bool
	Limit       int
	Offset      int
}

// Schedules lists schedules by filter and counts all that match.
func (q Q) Schedules(ctx context.Context, f ScheduleFilter) ([]Schedule, int64, error) {
	where := []string{"s.merchant_id = $1", "s.schedule_at >= $2", "s.schedule_at < $3"}
	args := []any{f.MerchantID, f.From, f.To}
	if f.CustomerUID != "" {
		args = append(args, f.CustomerUID)
		where = append(where, "s.customer_uid = $"+itoa(len(args)))
	}
	switch f.Status {
	case "":
	case ScheduleScheduled:
		where = append(where, "s.status IN ('scheduled', 'executing')")
	default:
		args = append(args, f.Status)
		where = append(where, "s.status = $"+itoa(len(args)))
	}
	cond := strings.Join(where, " AND ")
	var total int64
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM schedules s WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := "s.schedule_at DESC, s.id DESC"
	if f.OldestFirst {
		order = "s.schedule_at ASC, s.id ASC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	out, err := q.schedules(ctx, `SELECT `+scheduleCols+scheduleFrom+`WHERE `+cond+` ORDER BY `+order+
		` LIMIT `+itoa(limit)+` OFFSET `+itoa(max(f.Offset, 0)), args...)
	return out, total, err
}

// RevokeSchedules revokes the merchant's pending schedules of customerUID
// (all of them when merchantUIDs is empty) or, with customerUID "", those
// named by merchantUIDs. It returns the revoked schedules; failed charges
// waiting for a policy retry stop being retried (they stay executed).
func (q Q) RevokeSchedules(ctx context.Context, merchantID int64, customerUID string, merchantUIDs []string, now int64) ([]Schedule, error) {
	where := []string{"merchant_id = $1"}
	args := []any{merchantID, now}
	if customerUID != "" {
		args = append(args, customerUID)
		where = append(where, "customer_uid = $"+itoa(len(args)))
	}
	if len(merchantUIDs) > 0 {
		ph := make([]string, len(merchantUIDs))
		for i, u := range merchantUIDs {
			args = append(args, u)
			ph[i] = "$" + itoa(len(args))
		}
		where = append(where, "merchant_uid IN ("+strings.Join(ph, ",")+")")
	}
	cond := strings.Join(where, " AND ")
	if _, err := q.Exec(ctx, `UPDATE schedules SET retry_at = 0, updated_at = $2 WHERE `+cond+` AND retry_at > 0 AND status = 'executed'`, args...); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `UPDATE schedules SET status = 'revoked', revoked_at = $2, updated_at = $2
		WHERE `+cond+` AND status = 'scheduled' RETURNING id`, args...)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return q.schedulesByIDs(ctx, ids)
}

func (q Q) schedulesByIDs(ctx context.Context, ids []int64) ([]Schedule, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "$" + itoa(i+1)
		args[i] = id
	}
	return q.schedules(ctx, `SELECT `+scheduleCols+scheduleFrom+`WHERE s.id IN (`+strings.Join(ph, ",")+`) ORDER BY s.schedule_at, s.id`, args...)
}

// MoveSchedule changes a pending schedule's time. ErrNotFound when it is no
// longer pending.
func (q Q) MoveSchedule(ctx context.Context, merchantID, id, at, now int64) (Schedule, error) {
	res, err := q.Exec(ctx, `UPDATE schedules SET schedule_at = $1, enqueued_at = 0, updated_at = $2 WHERE merchant_id = $3 AND id = $4 AND status = 'scheduled'`,
		at, now, merchantID, id)
	if err != nil {
		return Schedule{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Schedule{}, ErrNotFound
	}
	return q.ScheduleByID(ctx, id)
}

// ReopenSchedule makes a failed (executed, payment failed) or revoked
// schedule pending again at `at`. ErrNotFound when it is in neither state.
func (q Q) ReopenSchedule(ctx context.Context, merchantID, id, at, now int64) (Schedule, error) {
	res, err := q.Exec(ctx, `UPDATE schedules SET status = 'scheduled', schedule_at = $1, imp_uid = NULL, payment_status = NULL,
		fail_reason = NULL, executed_at = 0, revoked_at = 0, retry_at = 0, retries = 0, enqueued_at = 0, updated_at = $2
		WHERE merchant_id = $3 AND id = $4 AND (status = 'revoked' OR (status = 'executed' AND payment_status = 'failed'))`,
		at, now, merchantID, id)
	if err != nil {
		return Schedule{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Schedule{}, ErrNotFound
	}
	return q.ScheduleByID(ctx, id)
}

// EnqueueDueSchedules marks up to limit schedules ready to run (pending and
// due by the clock `now`, failed with a policy retry due, or executing with
// an expired lease) as enqueued, unless enqueued since staleBefore (real
// unix seconds), and returns their ids with the new enqueue sequence. Two
// sweeps at once never both take a schedule.
func (q Q) EnqueueDueSchedules(ctx context.Context, now, realNow, staleBefore int64, limit int) ([]EnqueuedItem, error) {
	rows, err := q.Query(ctx, `UPDATE schedules SET enqueue_seq = enqueue_seq + 1, enqueued_at = $1
		WHERE id IN (SELECT id FROM schedules WHERE enqueued_at < $2 AND (
			(status = 'scheduled' AND schedule_at <= $3)
			OR (status = 'executing' AND lease_until < $1)
			OR (status = 'executed' AND retry_at > 0 AND retry_at <= $3))
			ORDER BY schedule_at LIMIT `+itoa(limit)+`)
		AND enqueued_at < $2 RETURNING id, enqueue_seq`, realNow, staleBefore, now)
	if err != nil {
		return nil, err
	}
	return scanEnqueued(rows)
}

// EnqueuedItem is a row a sweep handed to the job queue.
type EnqueuedItem struct{ ID, Seq int64 }

func scanEnqueued(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]EnqueuedItem, error) {
	defer rows.Close()
	var out []EnqueuedItem
	for rows.Next() {
		var e EnqueuedItem
		if err := rows.Scan(&e.ID, &e.Seq); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClaimSchedule takes a schedule for execution if it is ready to run (see
// EnqueueDueSchedules; with force, a failed or revoked one regardless of
// time, for /retry). The claim records how many payments the merchant_uid
// had, so a worker that takes over an expired claim can tell whether the
// charge already happened. ErrNotFound when it is not claimable.
func (q Q) ClaimSchedule(ctx context.Context, id, now, realNow, leaseUntil int64, force bool) (Schedule, error) {
	ready := `(status = 'scheduled' AND schedule_at <= $3)
		OR (status = 'executing' AND lease_until < $2)
		OR (status = 'executed' AND retry_at > 0 AND retry_at <= $3)`
	if force {
		ready = `(status = 'revoked' OR (status = 'executed' AND payment_status = 'failed')) AND lease_until < $2 AND schedule_at <= $3 + schedule_at`
	}
	res, err := q.Exec(ctx, `UPDATE schedules SET
		prior_payments = CASE WHEN status = 'executing' THEN prior_payments
			ELSE (SELECT COUNT(*) FROM payments p WHERE p.merchant_id = schedules.merchant_id AND p.merchant_uid = schedules.merchant_uid) END,
		claimed_from = CASE WHEN status = 'executing' THEN claimed_from ELSE status END,
		status = 'executing', lease_until = $4, updated_at = $3
		WHERE id = $1 AND (`+ready+`)`, id, realNow, now, leaseUntil)
	if err != nil {
		return Schedule{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Schedule{}, ErrNotFound
	}
	return q.ScheduleByID(ctx, id)
}

// ExtendScheduleLease keeps an executing schedule claimed (its charge is
// still in flight at the PG).
func (q Q) ExtendScheduleLease(ctx context.Context, id, leaseUntil int64) error {
	_, err := q.Exec(ctx, `UPDATE schedules SET lease_until = $1 WHERE id = $2 AND status = 'executing'`, leaseUntil, id)
	return err
}

// ReleaseSchedule undoes a claim whose charge never started.
func (q Q) ReleaseSchedule(ctx context.Context, id, now int64) error {
	_, err := q.Exec(ctx, `UPDATE schedules SET status = claimed_from, lease_until = 0, updated_at = $1
		WHERE id = $2 AND status = 'executing'`, now, id)
	return err
}

// ScheduleOutcome is what an execution ended with.
type ScheduleOutcome struct {
	ImpUID        string // "" when no payment was made (the key was gone)
	PaymentStatus string // paid | failed
	FailReason    string
	ExecutedAt    int64
	RetryAt       int64 // > 0: the retry policy charges it again then
}

// FinishSchedule records the outcome of an executing schedule (by merchant
// and merchant_uid, as payments know them). It reports whether a schedule
// was executing.
func (q Q) FinishSchedule(ctx context.Context, merchantID int64, merchantUID string, o ScheduleOutcome) (bool, error) {
	retries := "retries"
	if o.RetryAt > 0 {
		retries = "retries + 1"
	}
	res, err := q.Exec(ctx, `UPDATE schedules SET status = 'executed', imp_uid = $1, payment_status = $2, fail_reason = $3,
		executed_at = $4, retry_at = $5, retries = `+retries+`, lease_until = 0, enqueued_at = 0, updated_at = $4
		WHERE merchant_id = $6 AND merchant_uid = $7 AND status = 'executing'`,
		nz(o.ImpUID), o.PaymentStatus, nz(o.FailReason), o.ExecutedAt, o.RetryAt, merchantID, merchantUID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ScheduleRetryDelays returns the merchant's retry policy ("" when off).
func (q Q) ScheduleRetryDelays(ctx context.Context, merchantID int64) (string, error) {
	var d string
	err := q.QueryRow(ctx, `SELECT delays FROM schedule_retry_policies WHERE merchant_id = $1`, merchantID).Scan(&d)
	if IsNotFound(mapErr(err)) {
		return "", nil
	}
	return d, mapErr(err)
}

// SetScheduleRetryDelays sets (or with "" removes) the merchant's retry policy.
func (q Q) SetScheduleRetryDelays(ctx context.Context, merchantID int64, delays string, now int64) error {
	if delays == "" {
		_, err := q.Exec(ctx, `DELETE FROM schedule_retry_policies WHERE merchant_id = $1`, merchantID)
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO schedule_retry_policies (merchant_id, delays, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (merchant_id) DO UPDATE SET delays = excluded.delays, updated_at = excluded.updated_at`, merchantID, delays, now)
	return err
}

// PaymentsByMerchantUID lists a merchant's payments of one merchant_uid, newest first.
func (q Q) PaymentsByMerchantUID(ctx context.Context, merchantID int64, merchantUID string) ([]Payment, error) {
	ps, _, err := q.Payments(ctx, PaymentFilter{MerchantID: merchantID, MerchantUIDs: []string{merchantUID}, Limit: 1000})
	return ps, err
}
