package store

import (
	"context"
	"strings"
)

const paymentCols = `id, merchant_id, imp_uid, merchant_uid, status, pg_state, inflight_until, amount, cancel_amount, tax_free,
	currency, pay_method, channel, channel_id, pg_provider, pg_id, pg_tid, sandbox, customer_uid, customer_uid_usage, name,
	buyer_name, buyer_email, buyer_tel, buyer_addr, buyer_postcode, custom_data, user_agent, card_name, card_code,
	card_number, card_type, card_quota, apply_num, receipt_url, fail_reason, cancel_reason, notice_url, window_state,
	started_at, paid_at, failed_at, cancelled_at, updated_at`

func scanPayment(row interface{ Scan(...any) error }) (Payment, error) {
	var p Payment
	err := row.Scan(&p.ID, &p.MerchantID, &p.ImpUID, &p.MerchantUID, &p.Status, &p.PGState, &p.InflightUntil, &p.Amount,
		&p.CancelAmount, &p.TaxFree, &p.Currency, &p.PayMethod, &p.Channel, &p.ChannelID, &p.PGProvider, &p.PGID,
		nullStr{&p.PGTID}, boolInt{&p.Sandbox}, nullStr{&p.CustomerUID}, nullStr{&p.CustomerUIDUsage}, nullStr{&p.Name},
		nullStr{&p.BuyerName}, nullStr{&p.BuyerEmail}, nullStr{&p.BuyerTel}, nullStr{&p.BuyerAddr}, nullStr{&p.BuyerPostcode},
		nullStr{&p.CustomData}, nullStr{&p.UserAgent}, nullStr{&p.CardName}, nullStr{&p.CardCode}, nullStr{&p.CardNumber},
		nullInt{&p.CardType}, &p.CardQuota, nullStr{&p.ApplyNum}, nullStr{&p.ReceiptURL}, nullStr{&p.FailReason},
		nullStr{&p.CancelReason}, nullStr{&p.NoticeURL}, nullStr{&p.WindowState}, &p.StartedAt, &p.PaidAt, &p.FailedAt,
		&p.CancelledAt, &p.UpdatedAt)
	return p, mapErr(err)
}

// InsertPayment records a new payment. A merchant_uid that already has a
// payment that did not fail is refused by the unique index: ErrConflict.
func (q Q) InsertPayment(ctx context.Context, p Payment) (Payment, error) {
	row := q.QueryRow(ctx, `INSERT INTO payments (merchant_id, imp_uid, merchant_uid, status, pg_state, inflight_until, amount,
		cancel_amount, tax_free, currency, pay_method, channel, channel_id, pg_provider, pg_id, pg_tid, sandbox, customer_uid,
		customer_uid_usage, name, buyer_name, buyer_email, buyer_tel, buyer_addr, buyer_postcode, custom_data, user_agent,
		card_name, card_code, card_number, card_type, card_quota, apply_num, receipt_url, fail_reason, cancel_reason,
		notice_url, window_state, started_at, paid_at, failed_at, cancelled_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
		$24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43)
		RETURNING id`,
		p.MerchantID, p.ImpUID, p.MerchantUID, p.Status, p.PGState, p.InflightUntil, p.Amount, p.CancelAmount, p.TaxFree,
		p.Currency, p.PayMethod, p.Channel, p.ChannelID, p.PGProvider, p.PGID, nz(p.PGTID), b2i(p.Sandbox), nz(p.CustomerUID),
		nz(p.CustomerUIDUsage), nz(p.Name), nz(p.BuyerName), nz(p.BuyerEmail), nz(p.BuyerTel), nz(p.BuyerAddr),
		nz(p.BuyerPostcode), nz(p.CustomData), nz(p.UserAgent), nz(p.CardName), nz(p.CardCode), nz(p.CardNumber),
		nint(p.CardType), p.CardQuota, nz(p.ApplyNum), nz(p.ReceiptURL), nz(p.FailReason), nz(p.CancelReason),
		nz(p.NoticeURL), nz(p.WindowState), p.StartedAt, p.PaidAt, p.FailedAt, p.CancelledAt, p.UpdatedAt)
	// Only the id comes back: the rest is what was written (scanning every
	// column back was a large part of the charge path's CPU).
	if err := row.Scan(&p.ID); err != nil {
		return Payment{}, mapErr(err)
	}
	return p, nil
}

// UpdatePayment writes p's mutable fields, but only if the stored row still
// has pg_state = expectState and cancel_amount = expectCancel (optimistic
// concurrency: whoever changed it first wins). ErrNotFound when the
// condition no longer holds. p must be the stored row with changes applied
// (the other columns are not written, and p is returned as the new row).
func (q Q) UpdatePayment(ctx context.Context, p Payment, expectState string, expectCancel int64) (Payment, error) {
	res, err := q.Exec(ctx, `UPDATE payments SET status = $1, pg_state = $2, inflight_until = $3, cancel_amount = $4,
		pay_method = $5, pg_tid = $6, card_name = $7, card_code = $8, card_number = $9, card_type = $10, apply_num = $11,
		receipt_url = $12, fail_reason = $13, cancel_reason = $14, window_state = $15, paid_at = $16, failed_at = $17,
		cancelled_at = $18, updated_at = $19, customer_uid = $20, amount = $21
		WHERE id = $22 AND merchant_id = $23 AND pg_state = $24 AND cancel_amount = $25`,
		p.Status, p.PGState, p.InflightUntil, p.CancelAmount, p.PayMethod, nz(p.PGTID), nz(p.CardName), nz(p.CardCode),
		nz(p.CardNumber), nint(p.CardType), nz(p.ApplyNum), nz(p.ReceiptURL), nz(p.FailReason), nz(p.CancelReason),
		nz(p.WindowState), p.PaidAt, p.FailedAt, p.CancelledAt, p.UpdatedAt, nz(p.CustomerUID), p.Amount,
		p.ID, p.MerchantID, expectState, expectCancel)
	if err != nil {
		return Payment{}, mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Payment{}, err
	} else if n != 1 {
		return Payment{}, ErrNotFound
	}
	return p, nil
}

// InsertCancel appends to a payment's cancel history.
func (q Q) InsertCancel(ctx context.Context, c Cancel) error {
	_, err := q.Exec(ctx, `INSERT INTO payment_cancels (payment_id, pg_tid, amount, reason, cancelled_at, cancellation_id, receipt_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.PaymentID, c.PGTID, c.Amount, c.Reason, c.CancelledAt, c.CancellationID, nz(c.ReceiptURL))
	return err
}

// Payment reads one payment of the merchant by imp_uid, with its cancels.
func (q Q) Payment(ctx context.Context, merchantID int64, impUID string) (Payment, error) {
	p, err := scanPayment(q.QueryRow(ctx, `SELECT `+paymentCols+` FROM payments WHERE merchant_id = $1 AND imp_uid = $2`, merchantID, impUID))
	if err != nil {
		return p, err
	}
	err = q.fillCancels(ctx, []*Payment{&p})
	return p, err
}

// PaymentFilter selects a merchant's payments.
type PaymentFilter struct {
	MerchantID   int64
	ImpUIDs      []string
	MerchantUIDs []string
	Status       string // "" or "all": any
	CustomerUID  string
	From, To     int64 // started_at range [From, To]; 0 = open
	Sorting      string
	Limit        int
	Offset       int
}

var sortings = map[string]string{
	"":         "started_at DESC, id DESC",
	"-started": "started_at DESC, id DESC",
	"started":  "started_at ASC, id ASC",
	"-paid":    "paid_at DESC, id DESC",
	"paid":     "paid_at ASC, id ASC",
	"-updated": "updated_at DESC, id DESC",
	"updated":  "updated_at ASC, id ASC",
}

// ValidSorting reports whether s is a sorting the list endpoints accept.
func ValidSorting(s string) bool { _, ok := sortings[s]; return ok }

// Payments lists payments by filter and counts all that match.
func (q Q) Payments(ctx context.Context, f PaymentFilter) ([]Payment, int64, error) {
	where := []string{"merchant_id = $1"}
	args := []any{f.MerchantID}
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	in := func(col string, vals []string) {
		ph := make([]string, len(vals))
		anys := make([]any, len(vals))
		for i, v := range vals {
			ph[i] = "?"
			anys[i] = v
		}
		add(col+" IN ("+strings.Join(ph, ",")+")", anys...)
	}
	if len(f.ImpUIDs) > 0 && len(f.MerchantUIDs) > 0 {
		// GET /payments?imp_uid[]&merchant_uid[]: either list matches.
		ph1, ph2 := make([]string, len(f.ImpUIDs)), make([]string, len(f.MerchantUIDs))
		var vals []any
		for i, v := range f.ImpUIDs {
			ph1[i] = "?"
			vals = append(vals, v)
		}
		for i, v := range f.MerchantUIDs {
			ph2[i] = "?"
			vals = append(vals, v)
		}
		add("(imp_uid IN ("+strings.Join(ph1, ",")+") OR merchant_uid IN ("+strings.Join(ph2, ",")+"))", vals...)
	} else if len(f.ImpUIDs) > 0 {
		in("imp_uid", f.ImpUIDs)
	} else if len(f.MerchantUIDs) > 0 {
		in("merchant_uid", f.MerchantUIDs)
	}
	if f.Status != "" && f.Status != "all" {
		add("status = ?", f.Status)
	}
	if f.CustomerUID != "" {
		add("customer_uid = ?", f.CustomerUID)
	}
	if f.From > 0 {
		add("started_at >= ?", f.From)
	}
	if f.To > 0 {
		add("started_at <= ?", f.To)
	}
	cond := strings.Join(where, " AND ")
	var total int64
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM payments WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order, ok := sortings[f.Sorting]
	if !ok {
		order = sortings[""]
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	rows, err := q.Query(ctx, `SELECT `+paymentCols+` FROM payments WHERE `+cond+` ORDER BY `+order+
		` LIMIT `+itoa(limit)+` OFFSET `+itoa(max(f.Offset, 0)), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	ptrs := make([]*Payment, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, total, q.fillCancels(ctx, ptrs)
}

func (q Q) fillCancels(ctx context.Context, ps []*Payment) error {
	var ids []string
	byID := map[int64]*Payment{}
	var args []any
	for _, p := range ps {
		p.Cancels = []Cancel{}
		if p.CancelAmount > 0 {
			byID[p.ID] = p
			args = append(args, p.ID)
			ids = append(ids, "$"+itoa(len(args)))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT id, payment_id, pg_tid, amount, reason, cancelled_at, cancellation_id, receipt_url
		FROM payment_cancels WHERE payment_id IN (`+strings.Join(ids, ",")+`) ORDER BY id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Cancel
		if err := rows.Scan(&c.ID, &c.PaymentID, &c.PGTID, &c.Amount, &c.Reason, &c.CancelledAt, &c.CancellationID, nullStr{&c.ReceiptURL}); err != nil {
			return err
		}
		if p := byID[c.PaymentID]; p != nil {
			p.Cancels = append(p.Cancels, c)
		}
	}
	return rows.Err()
}

// InflightDue lists payments (of any merchant: this is the reconciler's
// system-wide scan) left in flight whose lease ended before now.
func (q Q) InflightDue(ctx context.Context, now int64, limit int) ([]Payment, error) {
	rows, err := q.Query(ctx, `SELECT `+paymentCols+` FROM payments WHERE pg_state = $1 AND inflight_until < $2 ORDER BY inflight_until LIMIT `+itoa(limit),
		PGStateInflight, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpsertPrepare registers (or changes) the expected amount of a merchant_uid.
func (q Q) UpsertPrepare(ctx context.Context, merchantID int64, p Prepare) (Prepare, error) {
	var out Prepare
	err := q.QueryRow(ctx, `INSERT INTO prepares (merchant_id, merchant_uid, amount, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (merchant_id, merchant_uid) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at
		RETURNING merchant_uid, amount, created_at, updated_at`, merchantID, p.MerchantUID, p.Amount, p.UpdatedAt).
		Scan(&out.MerchantUID, &out.Amount, &out.CreatedAt, &out.UpdatedAt)
	return out, mapErr(err)
}

// InsertPrepare registers a merchant_uid's amount; ErrConflict if registered.
func (q Q) InsertPrepare(ctx context.Context, merchantID int64, p Prepare) (Prepare, error) {
	var out Prepare
	err := q.QueryRow(ctx, `INSERT INTO prepares (merchant_id, merchant_uid, amount, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		RETURNING merchant_uid, amount, created_at, updated_at`, merchantID, p.MerchantUID, p.Amount, p.UpdatedAt).
		Scan(&out.MerchantUID, &out.Amount, &out.CreatedAt, &out.UpdatedAt)
	return out, mapErr(err)
}

// UpdatePrepare changes a registered amount; ErrNotFound if not registered.
func (q Q) UpdatePrepare(ctx context.Context, merchantID int64, p Prepare) (Prepare, error) {
	var out Prepare
	err := q.QueryRow(ctx, `UPDATE prepares SET amount = $1, updated_at = $2 WHERE merchant_id = $3 AND merchant_uid = $4
		RETURNING merchant_uid, amount, created_at, updated_at`, p.Amount, p.UpdatedAt, merchantID, p.MerchantUID).
		Scan(&out.MerchantUID, &out.Amount, &out.CreatedAt, &out.UpdatedAt)
	return out, mapErr(err)
}

func (q Q) GetPrepare(ctx context.Context, merchantID int64, merchantUID string) (Prepare, error) {
	var out Prepare
	err := q.QueryRow(ctx, `SELECT merchant_uid, amount, created_at, updated_at FROM prepares WHERE merchant_id = $1 AND merchant_uid = $2`,
		merchantID, merchantUID).Scan(&out.MerchantUID, &out.Amount, &out.CreatedAt, &out.UpdatedAt)
	return out, mapErr(err)
}

// StaleWindows lists (system-wide, for the reconciler) window issuances still
// open (ready, not in flight, window state kept) that started before 'before'.
func (q Q) StaleWindows(ctx context.Context, before int64, limit int) ([]Payment, error) {
	rows, err := q.Query(ctx, `SELECT `+paymentCols+` FROM payments WHERE status = 'ready' AND pg_state = '' AND window_state IS NOT NULL
		AND started_at < $1 ORDER BY started_at LIMIT `+itoa(limit), before)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
