// Package bench is billkey's load benchmark (billkey bench): it drives a
// billkey over loopback HTTP — one it starts itself as a child process on a
// fresh data directory, or a running one (-url) — with a bounded number of
// POST /subscribe/payments/again, GET /payments/{imp_uid} or
// POST /users/getToken calls at a chosen concurrency, against a PG stub in
// the bench process that speaks testpg's wire protocol. Beside again it
// measures the floor program (floor.go), the least a durable charge can
// cost, in the same run. See docs/performance.md.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"billkey/internal/accounts"
	"billkey/internal/app"
)

// Scenarios.
const (
	ScenarioAgain = "again"
	ScenarioGet   = "get"
	ScenarioToken = "token"
	ScenarioFloor = "floor"
)

// Options configure a bench run.
type Options struct {
	URL       string // a running billkey; empty: start one
	ImpKey    string // with URL
	ImpSecret string // with URL
	Pid       int    // with URL: the server's pid, for CPU and RSS (0: not reported)

	Engines   []string // sqlite, postgres (self-started servers)
	Scenarios []string // again, get, token, floor
	Seeds     []int    // payments stored before the server starts (self-started)
	N         int
	C         int
	MaxTime   time.Duration
	Warmup    int
	Customers int
	PGDelay   time.Duration
	Floor     bool // measure the floor beside again
	Profile   bool // CPU profiles of the measured phases into Out
	Out       string
	Exe       string    // binary for the child processes (default: this one)
	Log       io.Writer // progress (default: discarded)
}

func (o *Options) defaults() error {
	if o.N <= 0 {
		o.N = 20000
	}
	if o.C <= 0 {
		o.C = 64
	}
	if o.MaxTime <= 0 {
		o.MaxTime = 2 * time.Minute
	}
	if o.Customers <= 0 {
		o.Customers = 100
	}
	if len(o.Engines) == 0 {
		o.Engines = []string{"sqlite"}
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = []string{ScenarioAgain}
	}
	if len(o.Seeds) == 0 {
		o.Seeds = []int{0}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	for _, e := range o.Engines {
		if e != "sqlite" && e != "postgres" {
			return fmt.Errorf("bench: engine %q (want sqlite or postgres)", e)
		}
	}
	for _, s := range o.Scenarios {
		switch s {
		case ScenarioAgain, ScenarioGet, ScenarioToken, ScenarioFloor:
		default:
			return fmt.Errorf("bench: scenario %q (want again, get, token or floor)", s)
		}
	}
	if o.URL != "" {
		if err := checkLoopback(o.URL); err != nil {
			return err
		}
		if o.ImpKey == "" || o.ImpSecret == "" {
			return errors.New("bench: -url needs -imp-key and -imp-secret")
		}
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Exe = exe
	}
	return nil
}

// Result is one measured run.
type Result struct {
	Scenario      string   `json:"scenario"`
	Server        string   `json:"server"` // billkey or floor
	Engine        string   `json:"engine"`
	Stored        int      `json:"stored_payments"` // seeded before the server started
	Concurrency   int      `json:"concurrency"`
	PGDelayMS     float64  `json:"pg_delay_ms"`
	Requested     int      `json:"requested"`
	Done          int      `json:"done"`
	OK            int      `json:"ok"`
	Errors        int      `json:"errors"`
	ErrorSamples  []string `json:"error_samples,omitempty"`
	DurationS     float64  `json:"duration_s"`
	Throughput    float64  `json:"throughput_rps"`
	P50MS         float64  `json:"p50_ms"`
	P90MS         float64  `json:"p90_ms"`
	P99MS         float64  `json:"p99_ms"`
	MaxMS         float64  `json:"max_ms"`
	ServerCPUS    float64  `json:"server_cpu_s"`
	ToolCPUS      float64  `json:"tool_cpu_s"` // the bench process: load generator and PG stub
	CPUPerReqMS   float64  `json:"server_cpu_ms_per_req"`
	PeakRSSMB     float64  `json:"server_peak_rss_mib"`
	MaxGoroutines float64  `json:"server_max_goroutines,omitempty"`
	MaxOpenFDs    float64  `json:"server_max_open_fds,omitempty"`
	PGCalls       int64    `json:"pg_stub_charges,omitempty"`
	FloorRatio    float64  `json:"floor_ratio,omitempty"` // again: throughput / the floor's in the same run
	Profile       string   `json:"cpu_profile,omitempty"`
	LoadAvg       string   `json:"loadavg_after"` // 1-minute load average when the run ended: other work on the machine
}

// Report is a bench invocation's output.
type Report struct {
	When     string   `json:"when"`
	Machine  Machine  `json:"machine"`
	Command  string   `json:"command"`
	Results  []Result `json:"results"`
	Settings []string `json:"settings"`
}

// env is one billkey under test, with its merchant and customers.
type env struct {
	o        *Options
	engine   string
	stored   int
	cl       *client
	srv      *child // nil for -url
	pid      int
	pg       *postgres
	dataDir  string
	stub     *Stub
	impKey   string
	secret   string
	mu       sync.Mutex
	paid     []string // imp_uids of paid again charges
	settings string
}

// Run runs every engine × stored count × scenario the options ask for.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return nil, err
		}
	}
	rep := &Report{When: time.Now().UTC().Format(time.RFC3339), Machine: machine()}
	stub, err := StartStub(o.PGDelay)
	if err != nil {
		return nil, err
	}
	defer stub.Close()

	wantAgain, wantFloor := false, false
	for _, s := range o.Scenarios {
		wantAgain = wantAgain || s == ScenarioAgain
		wantFloor = wantFloor || s == ScenarioFloor
	}
	var floor *Result
	if wantFloor || (wantAgain && o.Floor) {
		r, err := runFloor(ctx, &o, stub)
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		floor = &r
		rep.Results = append(rep.Results, r)
		rep.Settings = append(rep.Settings, "floor: SQLite WAL synchronous=FULL, group commit (one writer goroutine, one transaction and fsync per batch of ≤256)")
	}
	run := func(e *env) error {
		defer e.close()
		if e.settings != "" {
			rep.Settings = append(rep.Settings, e.settings)
		}
		for _, s := range o.Scenarios {
			if s == ScenarioFloor {
				continue
			}
			r, err := e.run(ctx, s)
			if err != nil {
				return err
			}
			if s == ScenarioAgain && floor != nil && floor.Throughput > 0 {
				r.FloorRatio = r.Throughput / floor.Throughput
			}
			rep.Results = append(rep.Results, r)
			fmt.Fprintf(o.Log, "bench: %s\n", r.line())
		}
		return nil
	}
	if o.URL != "" {
		e, err := attach(ctx, &o, stub)
		if err != nil {
			return nil, err
		}
		if err := run(e); err != nil {
			return nil, err
		}
	} else {
		for _, engine := range o.Engines {
			for _, seed := range o.Seeds {
				e, err := start(ctx, &o, stub, engine, seed)
				if err != nil {
					return nil, err
				}
				if err := run(e); err != nil {
					return nil, err
				}
			}
		}
	}
	return rep, nil
}

func (r Result) line() string {
	return fmt.Sprintf("%s %s %s stored=%d c=%d: %d/%d ok, %.0f/s, p50 %.1f ms p99 %.1f ms, cpu %.2f s",
		r.Scenario, r.Server, r.Engine, r.Stored, r.Concurrency, r.OK, r.Requested, r.Throughput, r.P50MS, r.P99MS, r.ServerCPUS)
}

// attach uses a running billkey.
func attach(ctx context.Context, o *Options, stub *Stub) (*env, error) {
	e := &env{o: o, engine: "external", cl: newClient(o.URL, o.C), pid: o.Pid, stub: stub, impKey: o.ImpKey, secret: o.ImpSecret}
	if err := e.prepare(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// start makes a fresh billkey: data dir (and PostgreSQL), merchant and
// testpg channel on the stub (what billkey merchant create / add-channel
// do, in process), seeded payments, then billkey bench serve as a child.
func start(ctx context.Context, o *Options, stub *Stub, engine string, seed int) (_ *env, err error) {
	e := &env{o: o, engine: engine, stored: seed, stub: stub}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dataDir, err = os.MkdirTemp("", "billkey-bench-"); err != nil {
		return nil, err
	}
	var dbURL string
	if engine == "postgres" {
		fmt.Fprintf(o.Log, "bench: starting PostgreSQL (default configuration)\n")
		if e.pg, err = startPostgres(ctx); err != nil {
			return nil, err
		}
		dbURL = e.pg.URL
		e.settings = "billkey postgres: " + e.pg.settings(ctx)
	} else {
		e.settings = "billkey sqlite: WAL, synchronous=FULL, one writer connection with group commit"
	}
	cfg := app.Config{DataDir: e.dataDir, DatabaseURL: dbURL, Mode: "live", PGTimeout: 30 * time.Second,
		ReconcileInterval: 10 * time.Second, LogLevel: "error"}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, io.Discard))
	if err != nil {
		return nil, err
	}
	m, cred, err := a.Accounts.CreateMerchant(ctx, "bench", "")
	if err == nil {
		c, cerr := a.Accounts.AddChannel(ctx, m.ID, accounts.ChannelSpec{Provider: "testpg", MID: "bench", Default: true,
			BaseURL: stub.URL, Credentials: map[string]string{"secret": "test"}})
		err = cerr
		if err == nil && seed > 0 {
			target := cfg.DatabaseTarget()
			a.Close()
			fmt.Fprintf(o.Log, "bench: seeding %d payments (%s)\n", seed, engine)
			var took time.Duration
			took, err = seedPayments(ctx, engine, target, m.ID, c.ID, c.MID, seed, o.Customers)
			fmt.Fprintf(o.Log, "bench: seeded in %v\n", took.Round(time.Millisecond))
		}
	}
	a.Close()
	if err != nil {
		return nil, err
	}
	e.impKey, e.secret = cred.ImpKey, cred.ImpSecret
	args := []string{"bench", "serve", "-data-dir", e.dataDir, "-database-url=" + dbURL, "-mode", "test", "-log-level", "warn"}
	if o.Profile {
		args = append(args, "-cpuprofile", e.profilePath(ScenarioAgain))
	}
	logPath := filepath.Join(e.dataDir, "server.log")
	if o.Out != "" {
		logPath = filepath.Join(o.Out, fmt.Sprintf("server-%s-%d.log", engine, seed))
	}
	if e.srv, err = startChild(ctx, "billkey", o.Exe, args, childEnv("BILLKEY_DEMO=false"), logPath, "/readyz"); err != nil {
		return nil, err
	}
	e.pid = e.srv.Pid()
	e.cl = newClient(e.srv.URL, max(o.C, 16))
	if err := e.prepare(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) profilePath(scenario string) string {
	if e.o.Out == "" {
		return ""
	}
	return filepath.Join(e.o.Out, fmt.Sprintf("cpu-%s-%s-%d.pprof", scenario, e.engine, e.stored))
}

// prepare signs in and issues the customers (key-in on the testpg channel).
func (e *env) prepare(ctx context.Context) error {
	if err := e.cl.getToken(ctx, e.impKey, e.secret); err != nil {
		return err
	}
	body := []byte(`{"pg":"testpg","card_number":"4242-4242-4242-4242","expiry":"2030-12"}`)
	res := runLoad(ctx, e.o.Customers, 16, 5*time.Minute, func(ctx context.Context, i int) error {
		_, err := e.cl.do(ctx, "POST", "/subscribe/customers/"+customerUID(i), body)
		return err
	})
	if res.errors > 0 {
		return fmt.Errorf("issuing customers: %d errors: %v", res.errors, res.samples)
	}
	return nil
}

func (e *env) close() {
	if e.srv != nil {
		e.srv.stop()
		if e.o.Profile && e.o.Out != "" {
			os.Remove(e.profilePath(ScenarioAgain) + ".next")
		}
	}
	if e.pg != nil {
		e.pg.stop()
	}
	if e.dataDir != "" {
		os.RemoveAll(e.dataDir)
	}
}

// request returns the function a scenario calls per request.
func (e *env) request(scenario, prefix string) (func(ctx context.Context, i int) error, error) {
	switch scenario {
	case ScenarioAgain:
		return func(ctx context.Context, i int) error {
			body := []byte(`{"customer_uid":"` + customerUID(i%e.o.Customers) + `","merchant_uid":"` + prefix +
				strconv.Itoa(i) + `","amount":1000,"name":"bench"}`)
			r, err := e.cl.do(ctx, "POST", "/subscribe/payments/again", body)
			if err != nil {
				return err
			}
			if r.Response == nil || r.Response.Status != "paid" {
				return fmt.Errorf("again: not paid: %+v", r.Response)
			}
			e.mu.Lock()
			e.paid = append(e.paid, r.Response.ImpUID)
			e.mu.Unlock()
			return nil
		}, nil
	case ScenarioGet:
		e.mu.Lock()
		paid := e.paid
		e.mu.Unlock()
		if e.stored == 0 && len(paid) == 0 {
			return nil, errors.New("get: no paid payments to read")
		}
		return func(ctx context.Context, i int) error {
			var imp string
			if e.stored > 0 {
				imp = seededImpUID(mrand.IntN(e.stored))
			} else {
				imp = paid[mrand.IntN(len(paid))]
			}
			r, err := e.cl.do(ctx, "GET", "/payments/"+imp, nil)
			if err != nil {
				return err
			}
			if r.Response == nil || r.Response.Status != "paid" || r.Response.ImpUID != imp {
				return fmt.Errorf("get %s: %+v", imp, r.Response)
			}
			return nil
		}, nil
	case ScenarioToken:
		body, _ := json.Marshal(map[string]string{"imp_key": e.impKey, "imp_secret": e.secret})
		return func(ctx context.Context, i int) error {
			r, err := e.cl.do(ctx, "POST", "/users/getToken", body)
			if err != nil {
				return err
			}
			if r.Response == nil || r.Response.AccessToken == "" {
				return errors.New("getToken: no access_token")
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("bench: scenario %q", scenario)
}

// run measures one scenario: warm-up, then the bounded measured run.
func (e *env) run(ctx context.Context, scenario string) (Result, error) {
	o := e.o
	prefix := "b" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-"
	if scenario == ScenarioGet && e.stored == 0 && len(e.paid) == 0 {
		// Something to read: charges made before the measured run.
		fill, _ := e.request(ScenarioAgain, prefix+"g")
		runLoad(ctx, min(o.N, 2000), o.C, o.MaxTime, fill)
	}
	if o.Warmup > 0 {
		warm, err := e.request(scenario, prefix+"w")
		if err != nil {
			return Result{}, err
		}
		runLoad(ctx, min(o.Warmup, o.N), o.C, o.MaxTime, warm)
	}
	do, err := e.request(scenario, prefix)
	if err != nil {
		return Result{}, err
	}
	r := Result{Scenario: scenario, Server: "billkey", Engine: e.engine, Stored: e.stored, Concurrency: o.C,
		PGDelayMS: float64(o.PGDelay) / float64(time.Millisecond), Requested: o.N}
	var smp *sampler
	if e.srv != nil || o.URL != "" {
		smp = startSampler(e.cl.base)
	}
	profiling := o.Profile && e.srv != nil && o.Out != ""
	if profiling {
		os.WriteFile(e.profilePath(ScenarioAgain)+".next", []byte(e.profilePath(scenario)), 0o644)
		e.srv.signal(syscall.SIGUSR1)
	}
	measure(ctx, e.pid, &r, e.stub, func() loadResult { return runLoad(ctx, o.N, o.C, o.MaxTime, do) })
	if profiling {
		e.srv.signal(syscall.SIGUSR2)
		r.Profile = e.profilePath(scenario)
	}
	if smp != nil {
		r.MaxGoroutines, r.MaxOpenFDs = smp.finish()
	}
	if scenario != ScenarioAgain {
		r.PGCalls = 0
	}
	return r, nil
}

// measure runs load and fills r with its figures and the server's CPU and RSS.
func measure(ctx context.Context, pid int, r *Result, stub *Stub, load func() loadResult) {
	var cpu0 float64
	if pid > 0 {
		cpu0, _ = cpuSeconds(pid)
	}
	pg0 := stub.Charges()
	self0, _ := cpuSeconds(os.Getpid())
	lr := load()
	if self1, err := cpuSeconds(os.Getpid()); err == nil {
		r.ToolCPUS = self1 - self0
	}
	if pid > 0 {
		if cpu1, err := cpuSeconds(pid); err == nil {
			r.ServerCPUS = cpu1 - cpu0
		}
		r.PeakRSSMB, _ = peakRSSMB(pid)
	}
	r.PGCalls = stub.Charges() - pg0
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			r.LoadAvg = f[0]
		}
	}
	r.Done = len(lr.lat)
	r.Errors = lr.errors
	r.OK = r.Done - r.Errors
	r.ErrorSamples = lr.samples
	r.DurationS = lr.elapsed.Seconds()
	if r.DurationS > 0 {
		r.Throughput = float64(r.OK) / r.DurationS
	}
	if r.Done > 0 {
		r.CPUPerReqMS = r.ServerCPUS * 1000 / float64(r.Done)
	}
	r.P50MS, r.P90MS, r.P99MS = pct(lr.lat, 0.50), pct(lr.lat, 0.90), pct(lr.lat, 0.99)
	if len(lr.lat) > 0 {
		r.MaxMS = float64(lr.lat[len(lr.lat)-1]) / float64(time.Millisecond)
	}
}

// runFloor starts the floor program as a child process and measures it with
// the same again requests, concurrency and PG stub.
func runFloor(ctx context.Context, o *Options, stub *Stub) (Result, error) {
	dir, err := os.MkdirTemp("", "billkey-bench-floor-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	args := []string{"bench", "floor-server", "-data-dir", dir, "-pg", stub.URL, "-customers", strconv.Itoa(o.Customers)}
	prof := ""
	if o.Profile && o.Out != "" {
		prof = filepath.Join(o.Out, "cpu-floor.pprof")
		args = append(args, "-cpuprofile", prof)
	}
	logPath := filepath.Join(dir, "floor.log")
	if o.Out != "" {
		logPath = filepath.Join(o.Out, "server-floor.log")
	}
	srv, err := startChild(ctx, "floor", o.Exe, args, childEnv(), logPath, "/healthz")
	if err != nil {
		return Result{}, err
	}
	defer srv.stop()
	cl := newClient(srv.URL, max(o.C, 16))
	cl.token = FloorToken
	e := &env{o: o, cl: cl}
	prefix := "f" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-"
	if o.Warmup > 0 {
		warm, _ := e.request(ScenarioAgain, prefix+"w")
		runLoad(ctx, min(o.Warmup, o.N), o.C, o.MaxTime, warm)
	}
	do, _ := e.request(ScenarioAgain, prefix)
	r := Result{Scenario: ScenarioAgain, Server: "floor", Engine: "sqlite", Concurrency: o.C,
		PGDelayMS: float64(o.PGDelay) / float64(time.Millisecond), Requested: o.N}
	if prof != "" {
		srv.signal(syscall.SIGUSR1)
	}
	measure(ctx, srv.Pid(), &r, stub, func() loadResult { return runLoad(ctx, o.N, o.C, o.MaxTime, do) })
	if prof != "" {
		srv.signal(syscall.SIGUSR2)
		r.Profile = prof
	}
	fmt.Fprintf(o.Log, "bench: %s\n", r.line())
	return r, nil
}
