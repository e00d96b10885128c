// Package store keeps billkey's state in SQLite (the embedded default) or
// PostgreSQL (for several nodes), behind one seam: the same SQL, written once
// with $N placeholders, runs on both engines; each engine has its own
// migrations. Every query that touches merchant data takes the merchant id.
//
// SQLite runs in WAL mode with synchronous=FULL (a commit is durable when it
// returns), one writer connection and a pool of readers, like PocketBase.
// PostgreSQL runs on its defaults through pgx.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	sqlite "modernc.org/sqlite"
)

// Engines.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// ErrNotFound is returned when a row does not exist (for this merchant).
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a unique index refuses a write.
var ErrConflict = errors.New("store: conflict")

//go:embed migrations
var migrationsFS embed.FS

// Store is the database. Safe for concurrent use.
type Store struct {
	engine string
	w      *sql.DB // the writer: one connection on SQLite
	r      *sql.DB // readers
	group  *groupWriter
	// Prepared statements by query text (SQLite only: parsing is a large part
	// of a statement's cost there; pgx caches statements itself).
	wstmts, rstmts sync.Map
	pending        sync.Map // write queries seen in a transaction, to prepare after it
	rebound        sync.Map // query text → its SQLite form
	path           string   // the SQLite database file
}

// preparePending prepares, on the (now free) writer, the statements first
// seen inside a transaction.
func (s *Store) preparePending() {
	s.pending.Range(func(k, _ any) bool {
		s.pending.Delete(k)
		q := k.(string)
		if _, ok := s.wstmts.Load(q); ok {
			return true
		}
		if st, err := s.w.Prepare(q); err == nil {
			s.wstmts.Store(q, st)
		}
		return true
	})
}

// Open opens (and migrates) the database named by url: a postgres:// or
// postgresql:// URL, or a SQLite file path (optionally prefixed sqlite: or file:).
func Open(ctx context.Context, url string) (*Store, error) {
	var s *Store
	var err error
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		s, err = openPostgres(url)
	} else {
		s, err = openSQLite(strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "file:"))
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	// busy_timeout first, before the WAL switch (PocketBase's order).
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)"
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Readers map the database file: SQLite drops a connection's page cache
	// whenever another connection wrote, and re-reading pages from a mapping
	// costs no system call.
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)&_pragma=mmap_size(1073741824)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := 4 * runtime.NumCPU()
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	// Create the file and switch it to WAL before readers open it.
	if err := w.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	s := &Store{engine: SQLite, w: w, r: r, path: path}
	s.group = newGroupWriter(s)
	return s, nil
}

func openPostgres(url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	return &Store{engine: Postgres, w: db, r: db}, nil
}

// WriterDB is the writer pool (on SQLite its single connection), for
// libraries that run their own SQL on billkey's database (River).
func (s *Store) WriterDB() *sql.DB { return s.w }

// Engine is SQLite or Postgres.
func (s *Store) Engine() string { return s.engine }

// Close closes the connections.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	for _, m := range []*sync.Map{&s.wstmts, &s.rstmts} {
		m.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	}
	err := s.w.Close()
	if s.r != s.w {
		if e := s.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Ping checks the database answers (used by /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return err
	}
	return s.w.PingContext(ctx)
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// rebind turns $N placeholders into SQLite's ?N (memoised: queries are constants).
func (s *Store) rebind(q string) string {
	if s.engine != SQLite {
		return q
	}
	if v, ok := s.rebound.Load(q); ok {
		return v.(string)
	}
	r := rebindSQLite(q)
	s.rebound.Store(q, r)
	return r
}

// rebindSQLite rewrites $N to ?N, or to anonymous ? when the placeholders
// are exactly $1..$N in order, each once: SQLite binds anonymous parameters
// by position, while numbered ones make the driver look each name up.
func rebindSQLite(q string) string {
	locs := placeholder.FindAllStringSubmatch(q, -1)
	inOrder := true
	for i, m := range locs {
		if m[1] != strconv.Itoa(i+1) {
			inOrder = false
			break
		}
	}
	if inOrder {
		return placeholder.ReplaceAllString(q, "?")
	}
	return placeholder.ReplaceAllString(q, "?$1")
}

// Q runs queries, inside a transaction (Write) or on the reader pool (Read).
type Q struct {
	s  *Store
	tx *sql.Tx
	db *sql.DB
}

// stmt returns a cached prepared statement for query (SQLite), bound to the
// transaction when there is one; nil means run the text directly.
func (q Q) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.s.engine != SQLite {
		return nil
	}
	cache, db := &q.s.rstmts, q.s.r
	if q.tx != nil || q.db == q.s.w {
		cache, db = &q.s.wstmts, q.s.w
	}
	var st *sql.Stmt
	if v, ok := cache.Load(query); ok {
		st = v.(*sql.Stmt)
	} else {
		if q.tx != nil {
			// Preparing on the writer pool now would wait for the writer
			// connection this transaction holds: run the text this time and
			// prepare it once the transaction is over (preparePending).
			q.s.pending.Store(query, true)
			return nil
		}
		p, err := db.PrepareContext(ctx, query)
		if err != nil {
			return nil
		}
		if v, loaded := cache.LoadOrStore(query, p); loaded {
			p.Close()
			p = v.(*sql.Stmt)
		}
		st = p
	}
	if q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q Q) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = q.s.rebind(query)
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.ExecContext(ctx, query, args...)
	}
	return q.db.ExecContext(ctx, query, args...)
}

func (q Q) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = q.s.rebind(query)
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.db.QueryContext(ctx, query, args...)
}

func (q Q) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = q.s.rebind(query)
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.db.QueryRowContext(ctx, query, args...)
}

// Read gives the reader pool.
func (s *Store) Read() Q { return Q{s: s, db: s.r} }

// Write runs fn in one write transaction and commits it durably. On SQLite
// concurrent calls share one commit (see groupcommit.go) and fn runs on the
// single writer connection: fn must never call a PG, do anything slow, or
// call Write itself.
func (s *Store) Write(ctx context.Context, fn func(Q) error) error {
	if s.group != nil {
		return mapErr(s.group.write(ctx, fn))
	}
	return s.writeTx(ctx, fn)
}

func (s *Store) writeTx(ctx context.Context, fn func(Q) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(Q{s: s, tx: tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapErr(fmt.Errorf("store: commit: %w", err))
	}
	if s.engine == SQLite {
		s.preparePending()
	}
	return nil
}

// mapErr turns engine errors into ErrConflict / ErrNotFound where they mean that.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if IsUniqueViolation(err) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// IsUniqueViolation reports whether err is a unique-index refusal.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 2067 || se.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return errors.Is(err, ErrConflict)
}

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/" + s.engine
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return s.Write(ctx, func(q Q) error {
		if s.engine == Postgres {
			// Several nodes may start at once: one migrates, the others wait.
			if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(7165002)`); err != nil {
				return err
			}
		}
		if _, err := q.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, name := range names {
			var one int
			err := q.QueryRow(ctx, `SELECT 1 FROM schema_migrations WHERE version = $1`, name).Scan(&one)
			if err == nil {
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			body, err := migrationsFS.ReadFile(dir + "/" + name)
			if err != nil {
				return err
			}
			for _, stmt := range splitSQL(string(body)) {
				if _, err := q.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("store: migration %s: %w", name, err)
				}
			}
			if _, err := q.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, name, time.Now().Unix()); err != nil {
				return err
			}
		}
		return nil
	})
}

// splitSQL drops comment lines, then splits a migration file on
// statement-ending semicolons (our migrations hold no semicolons inside
// strings or bodies).
func splitSQL(body string) []string {
	var kept []string
	for _, l := range strings.Split(body, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			kept = append(kept, l)
		}
	}
	var out []string
	for _, part := range strings.Split(strings.Join(kept, "\n"), ";") {
		if strings.TrimSpace(part) != "" {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}
