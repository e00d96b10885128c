package testpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// The test PG's tables. Billing keys are stored only as their SHA-256
// (key_hash); times are unix seconds from the Sim's clock.
const schema = `
CREATE TABLE IF NOT EXISTS tp_keys (
  key_hash TEXT PRIMARY KEY,
  card TEXT NOT NULL,              -- behaviour id: a listed test card number, or "default"
  card_number TEXT NOT NULL,       -- masked
  customer_uid TEXT NOT NULL,
  status TEXT NOT NULL,            -- active | deleted
  created_at INTEGER NOT NULL,
  deleted_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tp_windows (
  window_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  customer_uid TEXT NOT NULL,
  amount INTEGER NOT NULL,
  name TEXT NOT NULL,
  return_url TEXT NOT NULL,
  cancel_url TEXT NOT NULL,
  fail_url TEXT NOT NULL,
  status TEXT NOT NULL,            -- open | approved | completed | cancelled | failed
  card TEXT NOT NULL DEFAULT '',   -- the chosen card (digits), once approved
  token_hash TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tp_charges (
  tid TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  key_hash TEXT NOT NULL,
  amount INTEGER NOT NULL,
  tax_free INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,            -- paid | failed
  fail_code TEXT NOT NULL,
  fail_message TEXT NOT NULL,
  card TEXT NOT NULL,
  card_number TEXT NOT NULL,
  apply_num TEXT NOT NULL,
  cancelled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tp_ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,              -- charge | cancel
  order_id TEXT NOT NULL,
  tid TEXT NOT NULL,               -- the charge's tid
  cancel_tid TEXT NOT NULL DEFAULT '',
  key_hash TEXT NOT NULL,
  amount INTEGER NOT NULL,
  status TEXT NOT NULL,            -- paid | failed | cancelled
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tp_ledger_order ON tp_ledger(order_id);
`

func openDB(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("pgsim/testpg: Config.DBPath is required")
	}
	// synchronous(FULL): a charge the Sim answered survives a crash of the host.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsim/testpg: open %s: %w", path, err)
	}
	// One connection: transactions are serialised inside the process, and
	// busy_timeout covers a second process on the same file.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgsim/testpg: schema: %w", err)
	}
	return db, nil
}

type queryer interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

type keyRow struct {
	Hash, Card, CardNumber, CustomerUID, Status string
	CreatedAt                                   int64
}

func getKey(ctx context.Context, q queryer, hash string) (keyRow, bool, error) {
	var k keyRow
	err := q.QueryRowContext(ctx, `SELECT key_hash, card, card_number, customer_uid, status, created_at FROM tp_keys WHERE key_hash = ?`, hash).
		Scan(&k.Hash, &k.Card, &k.CardNumber, &k.CustomerUID, &k.Status, &k.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return k, false, nil
	}
	return k, err == nil, err
}

func insertKey(ctx context.Context, x interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, k keyRow) error {
	_, err := x.ExecContext(ctx, `INSERT INTO tp_keys (key_hash, card, card_number, customer_uid, status, created_at) VALUES (?,?,?,?,?,?)`,
		k.Hash, k.Card, k.CardNumber, k.CustomerUID, k.Status, k.CreatedAt)
	return err
}

type chargeRow struct {
	TID, OrderID, KeyHash string
	Amount, TaxFree       int64
	Name, Status          string
	FailCode, FailMessage string
	Card, CardNumber      string
	ApplyNum              string
	Cancelled, CreatedAt  int64
}

const chargeCols = `tid, order_id, key_hash, amount, tax_free, name, status, fail_code, fail_message, card, card_number, apply_num, cancelled, created_at`

func scanCharge(row interface{ Scan(...any) error }) (chargeRow, error) {
	var c chargeRow
	err := row.Scan(&c.TID, &c.OrderID, &c.KeyHash, &c.Amount, &c.TaxFree, &c.Name, &c.Status, &c.FailCode, &c.FailMessage,
		&c.Card, &c.CardNumber, &c.ApplyNum, &c.Cancelled, &c.CreatedAt)
	return c, err
}

func getCharge(ctx context.Context, q queryer, col, v string) (chargeRow, bool, error) {
	if col != "tid" && col != "order_id" {
		return chargeRow{}, false, fmt.Errorf("getCharge by %q", col)
	}
	c, err := scanCharge(q.QueryRowContext(ctx, `SELECT `+chargeCols+` FROM tp_charges WHERE `+col+` = ?`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

func insertCharge(ctx context.Context, tx *sql.Tx, c chargeRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tp_charges (`+chargeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.TID, c.OrderID, c.KeyHash, c.Amount, c.TaxFree, c.Name, c.Status, c.FailCode, c.FailMessage,
		c.Card, c.CardNumber, c.ApplyNum, c.Cancelled, c.CreatedAt)
	if err != nil {
		return err
	}
	return insertLedger(ctx, tx, ledgerRow{Kind: "charge", OrderID: c.OrderID, TID: c.TID, KeyHash: c.KeyHash,
		Amount: c.Amount, Status: c.Status, Reason: c.FailMessage, CreatedAt: c.CreatedAt})
}

type ledgerRow struct {
	Kind, OrderID, TID, CancelTID, KeyHash string
	Amount                                 int64
	Status, Reason                         string
	CreatedAt                              int64
}

func insertLedger(ctx context.Context, tx *sql.Tx, l ledgerRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tp_ledger (kind, order_id, tid, cancel_tid, key_hash, amount, status, reason, created_at)
 VALUES (?,?,?,?,?,?,?,?,?)`, l.Kind, l.OrderID, l.TID, l.CancelTID, l.KeyHash, l.Amount, l.Status, l.Reason, l.CreatedAt)
	return err
}
