package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Group commit for SQLite: SQLite has one writer, and with synchronous=FULL
// every commit waits for an fsync. Concurrent Write calls are therefore
// queued to one writer goroutine that runs as many as are waiting (up to
// maxBatch) inside a single transaction, each under its own SAVEPOINT, and
// commits them with one fsync. A call whose function fails is rolled back to
// its savepoint without touching the others; every call returns only after
// the commit that made it durable (or with that commit's error).

const maxBatch = 256

type writeReq struct {
	ctx  context.Context
	fn   func(Q) error
	done chan error
}

type groupWriter struct {
	s    *Store
	reqs chan *writeReq
	stop chan struct{}
	wg   sync.WaitGroup

	commits int // commits since the WAL's size was last looked at
}

// WAL restarts. SQLite's automatic checkpoints copy the WAL into the
// database but can only start the WAL over when no reader is using it,
// which under steady reads is never: the WAL then grows without bound, and
// every page lookup, the writer's and the readers', walks its index. Every
// walCheckEvery commits the writer looks at the WAL's size and, past
// walRestartSize, checkpoints it with TRUNCATE (which waits, busy_timeout
// bounded, for the readers of the old WAL to finish, then empties the file)
// so the next commit starts it over.
var (
	walCheckEvery        = 128
	walRestartSize int64 = 32 << 20
)

func (g *groupWriter) maybeRestartWAL() {
	if g.commits++; g.commits < walCheckEvery {
		return
	}
	g.commits = 0
	st, err := os.Stat(g.s.path + "-wal")
	if err != nil || st.Size() < walRestartSize {
		return
	}
	var busy, logFrames, done int
	if err := g.s.w.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		slog.Warn("store: WAL checkpoint", "err", err)
	}
}

func newGroupWriter(s *Store) *groupWriter {
	g := &groupWriter{s: s, reqs: make(chan *writeReq, maxBatch), stop: make(chan struct{})}
	g.wg.Add(1)
	go g.run()
	return g
}

func (g *groupWriter) close() {
	close(g.stop)
	g.wg.Wait()
}

var errClosed = fmt.Errorf("store: closed")

func (g *groupWriter) write(ctx context.Context, fn func(Q) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.reqs <- r:
	case <-g.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the request runs (or is dropped for a dead context before
	// it starts); its outcome is always reported.
	return <-r.done
}

func (g *groupWriter) run() {
	defer g.wg.Done()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-g.stop:
			for {
				select {
				case r := <-g.reqs:
					r.done <- errClosed
				default:
					return
				}
			}
		case r := <-g.reqs:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		g.commit(batch)
		g.maybeRestartWAL()
	}
}

func (g *groupWriter) commit(batch []*writeReq) {
	results := make([]error, len(batch))
	tx, err := g.s.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.done <- fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	ran := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		results[i] = g.runOne(tx, r)
		if results[i] == nil {
			ran++
		}
	}
	var cerr error
	if ran > 0 {
		cerr = tx.Commit()
	} else {
		cerr = tx.Rollback()
		if cerr == sql.ErrTxDone {
			cerr = nil
		}
	}
	g.s.preparePending()
	for i, r := range batch {
		if results[i] == nil && cerr != nil {
			results[i] = mapErr(fmt.Errorf("store: commit: %w", cerr))
		}
		r.done <- results[i]
	}
}

// runOne runs one request under its own savepoint. The savepoint statements
// go through Q.Exec, so they are prepared once like every other statement.
func (g *groupWriter) runOne(tx *sql.Tx, r *writeReq) (err error) {
	ctx := context.WithoutCancel(r.ctx) // a statement must not be cut halfway by the caller's context
	q := Q{s: g.s, tx: tx}
	exec := func(stmt string) error { _, err := q.Exec(ctx, stmt); return err }
	if err := exec("SAVEPOINT w"); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			exec("ROLLBACK TO w")
			exec("RELEASE w")
			err = fmt.Errorf("store: panic in write: %v", p)
		}
	}()
	if err := r.fn(q); err != nil {
		if rerr := exec("ROLLBACK TO w"); rerr != nil {
			return fmt.Errorf("%w (and rollback to savepoint: %v)", err, rerr)
		}
		exec("RELEASE w")
		return err
	}
	return exec("RELEASE w")
}
