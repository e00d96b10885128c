package payco

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// The emulator's own tables, in its own SQLite file. Times are unix seconds
// from the Sim's clock.
const schema = `
CREATE TABLE IF NOT EXISTS pc_reserves (
  reserve_order_no TEXT PRIMARY KEY,
  seller_key TEXT NOT NULL,
  cp_id TEXT NOT NULL,
  ref_key TEXT NOT NULL,
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  order_title TEXT NOT NULL,
  order_channel TEXT NOT NULL,
  return_url TEXT NOT NULL,
  return_url_param TEXT NOT NULL,
  cancel_mobile_url TEXT NOT NULL,
  status TEXT NOT NULL,            -- reserved | registered | cancelled | failed
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  auto_payment_no TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS pc_autopay (
  auto_payment_no TEXT PRIMARY KEY,
  certify_key TEXT NOT NULL,
  seller_key TEXT NOT NULL,
  ref_key TEXT NOT NULL,
  card TEXT NOT NULL,
  reserve_order_no TEXT NOT NULL,
  status TEXT NOT NULL,            -- active | deleted
  registered_at INTEGER NOT NULL,
  deleted_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pc_autopay_ref ON pc_autopay(seller_key, ref_key);
CREATE TABLE IF NOT EXISTS pc_orders (
  order_no TEXT PRIMARY KEY,
  order_certify_key TEXT NOT NULL,
  seller_key TEXT NOT NULL,
  seller_order_ref_key TEXT NOT NULL,
  auto_payment_no TEXT NOT NULL,
  cp_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  product_ref_key TEXT NOT NULL,
  order_title TEXT NOT NULL,
  amount INTEGER NOT NULL,
  taxfree INTEGER NOT NULL,
  cancelled INTEGER NOT NULL DEFAULT 0,
  cancel_seq INTEGER NOT NULL DEFAULT 0,
  card TEXT NOT NULL,
  payment_trade_no TEXT NOT NULL,
  admission_no TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (seller_key, seller_order_ref_key)
);
CREATE TABLE IF NOT EXISTS pc_ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,              -- charge | cancel
  order_no TEXT NOT NULL,
  seller_order_ref_key TEXT NOT NULL,
  auto_payment_no TEXT NOT NULL,
  amount INTEGER NOT NULL,
  trade_no TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pc_ledger_order ON pc_ledger(order_no);
CREATE INDEX IF NOT EXISTS pc_ledger_ref ON pc_ledger(seller_order_ref_key);
`

func openDB(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("pgsim/payco: Config.DBPath is required")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsim/payco: open %s: %w", path, err)
	}
	// One connection: every transaction is serialised inside the process, and
	// busy_timeout covers a second process on the same file.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgsim/payco: schema: %w", err)
	}
	return db, nil
}

type reserveRow struct {
	No, SellerKey, CpID, RefKey           string
	Amount                                int64
	Currency, Title, Channel              string
	ReturnURL, ReturnURLParam, CancelMURL string
	Status                                string
	CreatedAt, ExpiresAt                  int64
}

const reserveCols = `reserve_order_no, seller_key, cp_id, ref_key, amount, currency, order_title, order_channel,
 return_url, return_url_param, cancel_mobile_url, status, created_at, expires_at`

func scanReserve(row interface{ Scan(...any) error }) (reserveRow, error) {
	var r reserveRow
	err := row.Scan(&r.No, &r.SellerKey, &r.CpID, &r.RefKey, &r.Amount, &r.Currency, &r.Title, &r.Channel,
		&r.ReturnURL, &r.ReturnURLParam, &r.CancelMURL, &r.Status, &r.CreatedAt, &r.ExpiresAt)
	return r, err
}

func (s *Sim) insertReserve(ctx context.Context, r reserveRow) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO pc_reserves (`+reserveCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.No, r.SellerKey, r.CpID, r.RefKey, r.Amount, r.Currency, r.Title, r.Channel,
		r.ReturnURL, r.ReturnURLParam, r.CancelMURL, r.Status, r.CreatedAt, r.ExpiresAt)
	return err
}

func (s *Sim) getReserve(ctx context.Context, no string) (reserveRow, bool, error) {
	r, err := scanReserve(s.db.QueryRowContext(ctx, `SELECT `+reserveCols+` FROM pc_reserves WHERE reserve_order_no = ?`, no))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

type autopayRow struct {
	No, CertifyKey, SellerKey, RefKey, Card, ReserveNo, Status string
	RegisteredAt                                               int64
}

const autopayCols = `auto_payment_no, certify_key, seller_key, ref_key, card, reserve_order_no, status, registered_at`

func scanAutopay(row interface{ Scan(...any) error }) (autopayRow, error) {
	var a autopayRow
	err := row.Scan(&a.No, &a.CertifyKey, &a.SellerKey, &a.RefKey, &a.Card, &a.ReserveNo, &a.Status, &a.RegisteredAt)
	return a, err
}

// activeAutopayByRef finds the live registration for (seller, ref, certify key).
func (s *Sim) activeAutopayByRef(ctx context.Context, seller, ref, certify string) (autopayRow, bool, error) {
	a, err := scanAutopay(s.db.QueryRowContext(ctx, `SELECT `+autopayCols+` FROM pc_autopay
 WHERE seller_key = ? AND ref_key = ? AND certify_key = ? AND status = 'active'`, seller, ref, certify))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// activeAutopayByNo finds the live registration for (seller, autoPaymentNo, certify key).
func (s *Sim) activeAutopayByNo(ctx context.Context, seller, no, certify string) (autopayRow, bool, error) {
	a, err := scanAutopay(s.db.QueryRowContext(ctx, `SELECT `+autopayCols+` FROM pc_autopay
 WHERE seller_key = ? AND auto_payment_no = ? AND certify_key = ? AND status = 'active'`, seller, no, certify))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

type orderRow struct {
	No, CertifyKey, SellerKey, RefKey, AutoPayNo string
	CpID, ProductID, ProductRef, Title           string
	Amount, Taxfree, Cancelled, CancelSeq        int64
	Card, TradeNo, AdmissionNo                   string
	CreatedAt                                    int64
}

const orderCols = `order_no, order_certify_key, seller_key, seller_order_ref_key, auto_payment_no, cp_id, product_id,
 product_ref_key, order_title, amount, taxfree, cancelled, cancel_seq, card, payment_trade_no, admission_no, created_at`

func scanOrder(row interface{ Scan(...any) error }) (orderRow, error) {
	var o orderRow
	err := row.Scan(&o.No, &o.CertifyKey, &o.SellerKey, &o.RefKey, &o.AutoPayNo, &o.CpID, &o.ProductID,
		&o.ProductRef, &o.Title, &o.Amount, &o.Taxfree, &o.Cancelled, &o.CancelSeq, &o.Card, &o.TradeNo, &o.AdmissionNo, &o.CreatedAt)
	return o, err
}

func (s *Sim) orderByRef(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, seller, ref string) (orderRow, bool, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderCols+` FROM pc_orders WHERE seller_key = ? AND seller_order_ref_key = ?`, seller, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

func orderByNo(ctx context.Context, tx *sql.Tx, seller, no string) (orderRow, bool, error) {
	o, err := scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderCols+` FROM pc_orders WHERE seller_key = ? AND order_no = ?`, seller, no))
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

func insertLedger(ctx context.Context, tx *sql.Tx, kind, orderNo, ref, autoPayNo string, amt int64, tradeNo string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pc_ledger (kind, order_no, seller_order_ref_key, auto_payment_no, amount, trade_no, created_at)
 VALUES (?,?,?,?,?,?,?)`, kind, orderNo, ref, autoPayNo, amt, tradeNo, at)
	return err
}
