package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Seeding: the scale-of-data runs store N paid payments before the server
// starts, straight into billkey's payments table (after billkey's own
// migrations ran), one INSERT … SELECT over a generated series per 100,000
// rows: SQLite generates the rows with a recursive CTE on a connection with
// synchronous=OFF and the WAL is checkpointed afterwards; PostgreSQL uses
// generate_series, then ANALYZE (what autovacuum would do soon after). Seeded rows look like again() charges of the
// bench merchant: imp_uid imp_9NNNNNNNNNNN (i zero-padded), merchant_uid
// seed-i, customer bench-(i mod K), status paid, one every 30 s back from now.

const seedChunk = 100_000

// seededImpUID is the imp_uid of seeded payment i.
func seededImpUID(i int) string { return fmt.Sprintf("imp_9%011d", i) }

const seedCols = `merchant_id, imp_uid, merchant_uid, status, pg_state, inflight_until, amount, currency, pay_method,
	channel, channel_id, pg_provider, pg_id, pg_tid, sandbox, customer_uid, customer_uid_usage, name, card_name, card_code,
	card_number, card_type, apply_num, started_at, paid_at, updated_at`

// seedPayments inserts n payments for merchantID / channelID (mid).
func seedPayments(ctx context.Context, engine, target string, merchantID, channelID int64, mid string, n, customers int) (time.Duration, error) {
	t0 := time.Now()
	if n <= 0 {
		return 0, nil
	}
	var db *sql.DB
	var err error
	var q string
	now := time.Now().Unix()
	if engine == "postgres" {
		db, err = sql.Open("pgx", target)
		q = `INSERT INTO payments (` + seedCols + `)
			SELECT $1, 'imp_9' || lpad(i::text, 11, '0'), 'seed-' || i, 'paid', '', 0, 1000, 'KRW', 'card', 'api', $2,
			'testpg', $3, 'tp_seed_' || i, 1, 'bench-' || (i % $4), 'payment', 'seed', '테스트카드', '361',
			'424242******4242', 0, '12345678', $5 - ($6 - i) * 30, $5 - ($6 - i) * 30, $5 - ($6 - i) * 30
			FROM generate_series($7::bigint, $8::bigint - 1) AS i`
	} else {
		db, err = sql.Open("sqlite", "file:"+target+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
		q = `INSERT INTO payments (` + seedCols + `)
			WITH RECURSIVE s(i) AS (SELECT ?7 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?8)
			SELECT ?1, printf('imp_9%011d', i), 'seed-' || i, 'paid', '', 0, 1000, 'KRW', 'card', 'api', ?2,
			'testpg', ?3, 'tp_seed_' || i, 1, 'bench-' || (i % ?4), 'payment', 'seed', '테스트카드', '361',
			'424242******4242', 0, '12345678', ?5 - (?6 - i) * 30, ?5 - (?6 - i) * 30, ?5 - (?6 - i) * 30
			FROM s`
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for lo := 0; lo < n; lo += seedChunk {
		hi := min(lo+seedChunk, n)
		if _, err := db.ExecContext(ctx, q, merchantID, channelID, mid, customers, now, n, lo, hi); err != nil {
			return 0, fmt.Errorf("seed payments %d..%d: %w", lo, hi, err)
		}
	}
	if engine == "postgres" {
		_, err = db.ExecContext(ctx, `ANALYZE payments`)
	} else {
		// No ANALYZE: billkey never runs it, so the planner sees what it
		// would see on a database that grew by itself.
		_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if err != nil && !strings.Contains(err.Error(), "locked") {
		return 0, err
	}
	return time.Since(t0), nil
}
