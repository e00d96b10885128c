// Package jobs runs billkey's background work on River
// (github.com/riverqueue/river): the SQLite driver on the embedded
// database's single writer connection, or pgx on PostgreSQL, where several
// billkey nodes share one queue.
//
// billkey's own tables stay the source of truth; River only runs the work.
// Every node sweeps once a second of real time (a ticker, not a River
// periodic job: an idle sweep then writes nothing, which keeps SQLite
// readers' page caches warm) for schedules due by billkey's clock and
// webhook attempts due, marks them enqueued (a conditional UPDATE, so two
// sweeps, on one node or several, never take the same row) and inserts one
// job per item, unique by its args (row id + enqueue
// sequence). The workers claim their row again before acting, so a job that
// runs twice, or a row enqueued twice, does its work once. A row enqueued by
// a node that died before inserting its job is swept again once its enqueue
// mark is StaleAfter old. Nothing is ever scheduled in River at a future
// time: due-ness is decided by billkey's (movable) clock at sweep time.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"billkey/internal/clock"
	"billkey/internal/schedule"
	"billkey/internal/store"
	"billkey/internal/webhook"
)

// Queues.
const (
	QueueSchedules = "billkey_schedules"
	QueueWebhooks  = "billkey_webhooks"
)

// Config configures the runner.
type Config struct {
	Store       *store.Store
	DatabaseURL string // the PostgreSQL URL when Store runs on PostgreSQL
	Schedules   *schedule.Service
	Webhooks    *webhook.Service
	Clock       clock.Clock
	Log         *slog.Logger
	// BeforeSweep runs at the start of every sweep (test mode: pick up the
	// shared clock offset).
	BeforeSweep func(ctx context.Context)

	SweepInterval   time.Duration // default 1 s
	StaleAfter      time.Duration // default 60 s
	BatchSize       int           // rows per enqueue batch, default 1000
	ScheduleWorkers int           // default 32
	WebhookWorkers  int           // default 16
	ScheduleTimeout time.Duration // one execution, default 2 min
}

func (c *Config) defaults() {
	if c.SweepInterval <= 0 {
		c.SweepInterval = time.Second
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = time.Minute
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.ScheduleWorkers <= 0 {
		c.ScheduleWorkers = 32
	}
	if c.WebhookWorkers <= 0 {
		c.WebhookWorkers = 16
	}
	if c.ScheduleTimeout <= 0 {
		c.ScheduleTimeout = 2 * time.Minute
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// ExecuteScheduleArgs runs one schedule.
type ExecuteScheduleArgs struct {
	ID  int64 `json:"id"`
	Seq int64 `json:"seq"`
}

func (ExecuteScheduleArgs) Kind() string { return "billkey_schedule_execute" }

// DeliverWebhookArgs makes one attempt at one webhook.
type DeliverWebhookArgs struct {
	ID  int64 `json:"id"`
	Seq int64 `json:"seq"`
}

func (DeliverWebhookArgs) Kind() string { return "billkey_webhook_deliver" }

// Runner is a started River client.
type Runner struct {
	stop  func(context.Context) error
	close func()
}

// Stop stops fetching, lets running jobs finish (until ctx ends, then
// cancels them) and releases the connections.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.stop(ctx)
	if r.close != nil {
		r.close()
	}
	return err
}

// Start migrates River's tables and starts the client.
func Start(ctx context.Context, c Config) (*Runner, error) {
	c.defaults()
	if c.Store.Engine() == store.Postgres {
		cfg, err := pgxpool.ParseConfig(c.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		cfg.MaxConns = 16
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: connect: %w", err)
		}
		if err := migratePG(ctx, pool, c.Log); err != nil {
			pool.Close()
			return nil, err
		}
		r, err := start[pgx.Tx](ctx, riverpgxv5.New(pool), c)
		if err != nil {
			pool.Close()
			return nil, err
		}
		r.close = pool.Close
		return r, nil
	}
	drv := riversqlite.New(c.Store.WriterDB())
	if err := migrate(ctx, drv, c.Log); err != nil {
		return nil, err
	}
	return start[*sql.Tx](ctx, drv, c)
}

func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], log *slog.Logger) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return fmt.Errorf("jobs: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	return nil
}

// migratePG runs River's migrations under an advisory lock: nodes starting
// together take turns.
func migratePG(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7165003)`); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7165003)`)
	return migrate[pgx.Tx](ctx, riverpgxv5.New(pool), log)
}

// quiet keeps River's info chatter out of billkey's log.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{log.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}
func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}

func start[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], c Config) (*Runner, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &scheduleWorker{c: c})
	river.AddWorker(workers, &webhookWorker{c: c})
	client, err := river.NewClient(drv, &river.Config{
		Logger: quiet(c.Log),
		Queues: map[string]river.QueueConfig{
			QueueSchedules: {MaxWorkers: c.ScheduleWorkers},
			QueueWebhooks:  {MaxWorkers: c.WebhookWorkers},
		},
		Workers:           workers,
		FetchPollInterval: 200 * time.Millisecond,
		FetchCooldown:     20 * time.Millisecond,
		// A job whose node died is rescued (retried) after this; the rows
		// themselves are swept again after StaleAfter anyway.
		RescueStuckJobsAfter:        c.ScheduleTimeout + time.Minute,
		CompletedJobRetentionPeriod: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("jobs: start river: %w", err)
	}
	sctx, stopSweeps := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		t := time.NewTicker(c.SweepInterval)
		defer t.Stop()
		for {
			if err := sweepAll(sctx, c, client); err != nil && sctx.Err() == nil {
				c.Log.Warn("jobs: sweep", "err", err)
			}
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return &Runner{stop: func(ctx context.Context) error {
		stopSweeps()
		<-swept
		err := client.Stop(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return client.StopAndCancel(cctx)
		}
		return err
	}}, nil
}

// sweepAll enqueues the due schedules and webhook attempts.
func sweepAll[TTx any](ctx context.Context, c Config, client *river.Client[TTx]) error {
	if c.BeforeSweep != nil {
		c.BeforeSweep(ctx)
	}
	n1, err1 := sweep(ctx, c, client, func(q store.Q, now, real, stale int64) ([]store.EnqueuedItem, error) {
		return q.EnqueueDueSchedules(ctx, now, real, stale, c.BatchSize)
	}, func(it store.EnqueuedItem) river.InsertManyParams {
		return river.InsertManyParams{Args: ExecuteScheduleArgs{ID: it.ID, Seq: it.Seq}, InsertOpts: &river.InsertOpts{
			Queue: QueueSchedules, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	})
	n2, err2 := sweep(ctx, c, client, func(q store.Q, now, real, stale int64) ([]store.EnqueuedItem, error) {
		return q.EnqueueDueWebhooks(ctx, now, real, stale, c.BatchSize)
	}, func(it store.EnqueuedItem) river.InsertManyParams {
		return river.InsertManyParams{Args: DeliverWebhookArgs{ID: it.ID, Seq: it.Seq}, InsertOpts: &river.InsertOpts{
			Queue: QueueWebhooks, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	})
	if n1+n2 > 0 {
		c.Log.Debug("sweep enqueued", "schedules", n1, "webhooks", n2)
	}
	return errors.Join(err1, err2)
}

// sweep marks due rows enqueued, batch by batch, and inserts their jobs.
func sweep[TTx any](ctx context.Context, c Config, client *river.Client[TTx],
	take func(q store.Q, now, real, stale int64) ([]store.EnqueuedItem, error),
	params func(store.EnqueuedItem) river.InsertManyParams) (int, error) {
	total := 0
	for round := 0; round < 20; round++ {
		now, real := c.Clock.Now().Unix(), time.Now().Unix()
		var items []store.EnqueuedItem
		err := c.Store.Write(ctx, func(q store.Q) error {
			var err error
			items, err = take(q, now, real, real-int64(c.StaleAfter/time.Second))
			return err
		})
		if err != nil || len(items) == 0 {
			return total, err
		}
		ps := make([]river.InsertManyParams, len(items))
		for i, it := range items {
			ps[i] = params(it)
		}
		if _, err := client.InsertMany(ctx, ps); err != nil {
			return total, fmt.Errorf("jobs: insert: %w", err)
		}
		total += len(items)
		if len(items) < c.BatchSize {
			break
		}
	}
	return total, nil
}

type scheduleWorker struct {
	river.WorkerDefaults[ExecuteScheduleArgs]
	c Config
}

func (w *scheduleWorker) Timeout(*river.Job[ExecuteScheduleArgs]) time.Duration {
	return w.c.ScheduleTimeout
}

func (w *scheduleWorker) Work(ctx context.Context, job *river.Job[ExecuteScheduleArgs]) error {
	return w.c.Schedules.Execute(ctx, job.Args.ID)
}

type webhookWorker struct {
	river.WorkerDefaults[DeliverWebhookArgs]
	c Config
}

func (w *webhookWorker) Timeout(*river.Job[DeliverWebhookArgs]) time.Duration { return time.Minute }

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[DeliverWebhookArgs]) error {
	_, _, err := w.c.Webhooks.Deliver(ctx, job.Args.ID, false)
	if errors.Is(err, webhook.ErrNotDue) {
		return nil
	}
	return err
}
