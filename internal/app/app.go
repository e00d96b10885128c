package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"billkey/internal/accounts"
	"billkey/internal/billing"
	"billkey/internal/clock"
	"billkey/internal/httpx"
	"billkey/internal/iamport"
	"billkey/internal/pg"
	pgkakaopay "billkey/internal/pg/kakaopay"
	pgpayco "billkey/internal/pg/payco"
	pgtestpg "billkey/internal/pg/testpg"
	simkakaopay "billkey/internal/pgsim/kakaopay"
	simpayco "billkey/internal/pgsim/payco"
	simtestpg "billkey/internal/pgsim/testpg"
	"billkey/internal/store"
	"billkey/internal/vault"
)

// App is a running billkey's parts.
type App struct {
	Cfg      Config
	Log      *slog.Logger
	Store    *store.Store
	Vault    *vault.Vault
	Clock    clock.Clock
	Accounts *accounts.Service
	Billing  *billing.Service
	PGs      *pg.Registry
	Mux      *http.ServeMux
	Handler  http.Handler
	Metrics  *prometheus.Registry

	keyCreated bool
	closers    []io.Closer
	bg         *background // schedules and webhooks (jobs.go)
}

// NewLogger builds the slog logger the config asks for.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens storage and builds every part; it listens on nothing yet.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, Log: log}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	var err error
	if a.Store, err = store.Open(ctx, cfg.DatabaseTarget()); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Store)

	ring, reload, err := a.keyring()
	if err != nil {
		return nil, err
	}
	a.Vault = vault.New(a.Store, ring, reload)

	if cfg.Mode == "test" {
		tc := clock.NewTest(0)
		if v, err := a.Store.Read().Meta(ctx, "clock_offset_seconds"); err == nil {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				tc.SetOffset(time.Duration(n) * time.Second)
			}
		}
		a.Clock = tc
	} else {
		a.Clock = clock.System{}
	}
	a.Accounts = accounts.New(a.Store, a.Vault, a.Clock)

	httpClient := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
	a.PGs = pg.NewRegistry(pgkakaopay.New(httpClient), pgpayco.New(httpClient), pgtestpg.New(httpClient))

	a.Billing = billing.New(billing.Config{
		Store: a.Store, Vault: a.Vault, Accounts: a.Accounts, PGs: a.PGs, Clock: a.Clock, Log: log,
		PGTimeout: cfg.PGTimeout, ReconcileGrace: 2 * time.Second,
		EmulatorURL: func(provider string) string { return cfg.PublicURL + "/pgsim/" + provider },
		Failpoint:   cfg.Failpoint, Exit: os.Exit,
	})

	a.Mux = http.NewServeMux()
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpx.NewMetrics(a.Metrics)
	api := &iamport.Server{Accounts: a.Accounts, Billing: a.Billing, Store: a.Store, Clock: a.Clock, Log: log}
	a.wireBackground(api)
	api.Routes(a.Mux)
	a.mountCheckout()
	a.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	a.Mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Store.Ping(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	a.Mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{}))
	if cfg.Mode == "test" {
		if err := a.mountEmulators(); err != nil {
			return nil, err
		}
	}
	a.Handler = httpx.Wrap(a.Mux, metrics, log)
	ok = true
	return a, nil
}

func (a *App) keyring() (vault.Keyring, func() (vault.Keyring, error), error) {
	if a.Cfg.MasterKey != "" {
		ring, err := vault.ParseKeyring(a.Cfg.MasterKey)
		return ring, nil, err
	}
	ring, created, err := vault.LoadOrCreateKeyFile(a.Cfg.MasterKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("master key: %w", err)
	}
	a.keyCreated = created
	path := a.Cfg.MasterKeyFile
	return ring, func() (vault.Keyring, error) {
		r, _, err := vault.LoadOrCreateKeyFile(path)
		return r, err
	}, nil
}

func (a *App) mountEmulators() error {
	dir := a.Cfg.DataDir
	base := a.Cfg.PublicURL + "/pgsim/"
	kakao, err := simkakaopay.New(simkakaopay.Config{DBPath: filepath.Join(dir, "pgsim-kakaopay.db"), Clock: a.Clock, PublicURL: base + "kakaopay"})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, kakao)
	payco, err := simpayco.New(simpayco.Config{DBPath: filepath.Join(dir, "pgsim-payco.db"), Clock: a.Clock, PublicURL: base + "payco", SellerKeys: []string{"*"}})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, payco)
	tpg, err := simtestpg.New(simtestpg.Config{DBPath: filepath.Join(dir, "pgsim-testpg.db"), Clock: a.Clock, PublicURL: base + "testpg"})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, tpg)
	a.Mux.Handle("/pgsim/kakaopay/", http.StripPrefix("/pgsim/kakaopay", kakao.Handler()))
	a.Mux.Handle("/pgsim/payco/", http.StripPrefix("/pgsim/payco", payco.Handler()))
	a.Mux.Handle("/pgsim/testpg/", http.StripPrefix("/pgsim/testpg", tpg.Handler()))
	return nil
}

// Close releases everything New opened.
func (a *App) Close() error {
	var first error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	a.closers = nil
	return first
}

// Serve listens and serves until ctx ends, then shuts down gracefully:
// in-flight requests finish (bounded by 30 s).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	go a.Billing.RunReconciler(bg, a.Cfg.ReconcileInterval)
	stopJobs, err := a.startBackground(context.WithoutCancel(bg))
	if err != nil {
		return err
	}
	defer stopJobs()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopJobs()
	stopBG()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return err
}
