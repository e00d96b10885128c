package kakaopay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// The emulator keeps its state in its own SQLite file, in its own tables
// (prefixed kp_), so it survives restarts of billkey.
const schema = `
CREATE TABLE IF NOT EXISTS kp_payments (
	tid TEXT PRIMARY KEY,
	cid TEXT NOT NULL,
	origin TEXT NOT NULL,              -- 'ready' or 'subscription'
	status TEXT NOT NULL,
	partner_order_id TEXT NOT NULL,
	partner_user_id TEXT NOT NULL,
	item_name TEXT NOT NULL,
	item_code TEXT NOT NULL DEFAULT '',
	quantity INTEGER NOT NULL,
	total INTEGER NOT NULL,
	tax_free INTEGER NOT NULL,
	vat INTEGER NOT NULL,
	canceled_total INTEGER NOT NULL DEFAULT 0,
	canceled_tax_free INTEGER NOT NULL DEFAULT 0,
	canceled_vat INTEGER NOT NULL DEFAULT 0,
	approval_url TEXT NOT NULL DEFAULT '',
	cancel_url TEXT NOT NULL DEFAULT '',
	fail_url TEXT NOT NULL DEFAULT '',
	allowed_method TEXT NOT NULL DEFAULT '',
	method TEXT NOT NULL DEFAULT '',
	test_card TEXT NOT NULL DEFAULT '',
	approved_id TEXT NOT NULL DEFAULT '',
	pg_token TEXT NOT NULL DEFAULT '',
	sid TEXT NOT NULL DEFAULT '',
	aid TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	approved_at INTEGER NOT NULL DEFAULT 0,
	canceled_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS kp_payments_order ON kp_payments(cid, partner_order_id);
CREATE TABLE IF NOT EXISTS kp_sids (
	sid TEXT PRIMARY KEY,
	cid TEXT NOT NULL,
	partner_user_id TEXT NOT NULL,
	method TEXT NOT NULL,
	test_card TEXT NOT NULL,
	item_name TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_approved_at INTEGER NOT NULL DEFAULT 0,
	inactivated_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS kp_actions (
	aid TEXT PRIMARY KEY,
	tid TEXT NOT NULL,
	cid TEXT NOT NULL,
	sid TEXT NOT NULL DEFAULT '',
	partner_order_id TEXT NOT NULL,
	partner_user_id TEXT NOT NULL,
	kind TEXT NOT NULL,                -- approve, issued_sid, subscription, cancel
	amount INTEGER NOT NULL,
	tax_free INTEGER NOT NULL,
	vat INTEGER NOT NULL,
	method TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS kp_actions_tid ON kp_actions(tid, seq);
CREATE INDEX IF NOT EXISTS kp_actions_sid ON kp_actions(sid, kind, created_at);
CREATE TABLE IF NOT EXISTS kp_cids (
	cid TEXT PRIMARY KEY,
	monthly_limit INTEGER,
	one_time INTEGER
);
`

func openDB(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" && dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	// One connection: the emulator serialises its writes anyway.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgsim/kakaopay: open %s: %w", path, err)
	}
	return db, nil
}

var errNotFound = errors.New("not found")

// payment is one TID: a ready/approve pair or one subscription charge.
type payment struct {
	TID, CID, Origin, Status               string
	PartnerOrderID, PartnerUserID          string
	ItemName, ItemCode                     string
	Quantity, Total, TaxFree, Vat          int64
	CanceledTotal, CanceledTaxFree         int64
	CanceledVat                            int64
	ApprovalURL, CancelURL, FailURL        string
	AllowedMethod, Method, TestCard        string
	ApprovedID, PgToken, SID, AID, Payload string
	CreatedAt, ApprovedAt, CanceledAt      int64
}

const paymentCols = `tid, cid, origin, status, partner_order_id, partner_user_id, item_name, item_code,
	quantity, total, tax_free, vat, canceled_total, canceled_tax_free, canceled_vat,
	approval_url, cancel_url, fail_url, allowed_method, method, test_card, approved_id, pg_token,
	sid, aid, payload, created_at, approved_at, canceled_at`

func (p *payment) fields() []any {
	return []any{&p.TID, &p.CID, &p.Origin, &p.Status, &p.PartnerOrderID, &p.PartnerUserID, &p.ItemName, &p.ItemCode,
		&p.Quantity, &p.Total, &p.TaxFree, &p.Vat, &p.CanceledTotal, &p.CanceledTaxFree, &p.CanceledVat,
		&p.ApprovalURL, &p.CancelURL, &p.FailURL, &p.AllowedMethod, &p.Method, &p.TestCard, &p.ApprovedID, &p.PgToken,
		&p.SID, &p.AID, &p.Payload, &p.CreatedAt, &p.ApprovedAt, &p.CanceledAt}
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func getPayment(ctx context.Context, q querier, tid string) (*payment, error) {
	p := &payment{}
	err := q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM kp_payments WHERE tid = ?`, tid).Scan(p.fields()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	return p, err
}

func putPayment(ctx context.Context, q querier, p *payment) error {
	vals := p.fields()
	args := make([]any, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case *string:
			args[i] = *x
		case *int64:
			args[i] = *x
		}
	}
	_, err := q.ExecContext(ctx, `INSERT OR REPLACE INTO kp_payments (`+paymentCols+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
	return err
}

// subscriptionKey is one SID.
type subscriptionKey struct {
	SID, CID, PartnerUserID, Method, TestCard, ItemName, Status string
	CreatedAt, LastApprovedAt, InactivatedAt                    int64
}

func getSID(ctx context.Context, q querier, sid string) (*subscriptionKey, error) {
	k := &subscriptionKey{}
	err := q.QueryRowContext(ctx, `SELECT sid, cid, partner_user_id, method, test_card, item_name, status,
		created_at, last_approved_at, inactivated_at FROM kp_sids WHERE sid = ?`, sid).
		Scan(&k.SID, &k.CID, &k.PartnerUserID, &k.Method, &k.TestCard, &k.ItemName, &k.Status,
			&k.CreatedAt, &k.LastApprovedAt, &k.InactivatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	return k, err
}

func putSID(ctx context.Context, q querier, k *subscriptionKey) error {
	_, err := q.ExecContext(ctx, `INSERT OR REPLACE INTO kp_sids (sid, cid, partner_user_id, method, test_card,
		item_name, status, created_at, last_approved_at, inactivated_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		k.SID, k.CID, k.PartnerUserID, k.Method, k.TestCard, k.ItemName, k.Status,
		k.CreatedAt, k.LastApprovedAt, k.InactivatedAt)
	return err
}

// action is one API action with an AID: a charge, an SID issuance or a cancel.
type action struct {
	AID            string `json:"aid"`
	TID            string `json:"tid"`
	CID            string `json:"cid"`
	SID            string `json:"sid"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	Kind           string `json:"kind"`
	Amount         int64  `json:"amount"`
	TaxFree        int64  `json:"tax_free"`
	Vat            int64  `json:"vat"`
	Method         string `json:"payment_method_type"`
	Payload        string `json:"-"`
	CreatedAt      int64  `json:"created_at"`
}

// Action kinds.
const (
	kindApprove      = "approve"
	kindIssuedSID    = "issued_sid"
	kindSubscription = "subscription"
	kindCancel       = "cancel"
)

func addAction(ctx context.Context, q querier, a *action) error {
	_, err := q.ExecContext(ctx, `INSERT INTO kp_actions (aid, tid, cid, sid, partner_order_id, partner_user_id,
		kind, amount, tax_free, vat, method, payload, created_at, seq)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(seq),0)+1 FROM kp_actions))`,
		a.AID, a.TID, a.CID, a.SID, a.PartnerOrderID, a.PartnerUserID, a.Kind, a.Amount, a.TaxFree, a.Vat,
		a.Method, a.Payload, a.CreatedAt)
	return err
}

const actionCols = `aid, tid, cid, sid, partner_order_id, partner_user_id, kind, amount, tax_free, vat, method, payload, created_at`

// maxRows bounds every list the emulator returns.
const maxRows = 10000

func listActions(ctx context.Context, q querier, where string, args ...any) ([]action, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+actionCols+` FROM kp_actions WHERE `+where+
		fmt.Sprintf(` ORDER BY seq LIMIT %d`, maxRows), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []action{}
	for rows.Next() {
		var a action
		if err := rows.Scan(&a.AID, &a.TID, &a.CID, &a.SID, &a.PartnerOrderID, &a.PartnerUserID, &a.Kind,
			&a.Amount, &a.TaxFree, &a.Vat, &a.Method, &a.Payload, &a.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func countCharges(ctx context.Context, q querier, sid string, since int64) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM kp_actions WHERE sid = ? AND kind = ? AND created_at >= ?`,
		sid, kindSubscription, since).Scan(&n)
	return n, err
}

// cidConfig is the emulator's per-CID settings.
type cidConfig struct {
	MonthlyLimit int64 `json:"monthly_limit"`
	OneTime      bool  `json:"one_time"`
}

func getCIDConfig(ctx context.Context, q querier, cid string) (cidConfig, error) {
	c := cidConfig{MonthlyLimit: DefaultMonthlyLimit, OneTime: isOneTimeCID(cid)}
	var limit, oneTime sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT monthly_limit, one_time FROM kp_cids WHERE cid = ?`, cid).Scan(&limit, &oneTime)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if limit.Valid {
		c.MonthlyLimit = limit.Int64
	}
	if oneTime.Valid {
		c.OneTime = oneTime.Int64 != 0
	}
	return c, nil
}

func putCIDConfig(ctx context.Context, q querier, cid string, c cidConfig) error {
	one := 0
	if c.OneTime {
		one = 1
	}
	_, err := q.ExecContext(ctx, `INSERT OR REPLACE INTO kp_cids (cid, monthly_limit, one_time) VALUES (?,?,?)`,
		cid, c.MonthlyLimit, one)
	return err
}
