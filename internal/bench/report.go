package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine describes where the bench ran.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemoryMB int    `json:"memory_mib"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Revision string `json:"revision,omitempty"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				m.MemoryMB = kb / 1024
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				m.Revision = s.Value[:12]
			}
		}
	}
	return m
}

// Markdown renders the report as a table.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`\n\n", r.Command)
	fmt.Fprintf(&b, "%s · %d CPUs (%s) · %d MiB · %s %s", r.When, r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemoryMB, r.Machine.Go, r.Machine.OS)
	if r.Machine.Revision != "" {
		fmt.Fprintf(&b, " · rev %s", r.Machine.Revision)
	}
	b.WriteString("\n\n")
	b.WriteString("| scenario | server | engine | stored | c | PG delay | ok / n | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU s | CPU ms/req | tool CPU s | peak RSS MiB | max goroutines | load avg | vs floor |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, x := range r.Results {
		ratio := ""
		if x.FloorRatio > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*x.FloorRatio)
		}
		gor := ""
		if x.MaxGoroutines > 0 {
			gor = fmt.Sprintf("%.0f", x.MaxGoroutines)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %d / %d | %d | **%.0f** | %.1f | %.1f | **%.1f** | %.1f | %.2f | %.3f | %.2f | %.0f | %s | %s | %s |\n",
			x.Scenario, x.Server, x.Engine, count(x.Stored), x.Concurrency, delay(x.PGDelayMS), x.OK, x.Requested, x.Errors,
			x.Throughput, x.P50MS, x.P90MS, x.P99MS, x.MaxMS, x.ServerCPUS, x.CPUPerReqMS, x.ToolCPUS, x.PeakRSSMB, gor, x.LoadAvg, ratio)
	}
	if len(r.Settings) > 0 {
		b.WriteString("\n")
		for _, s := range r.Settings {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	for _, x := range r.Results {
		if len(x.ErrorSamples) > 0 {
			fmt.Fprintf(&b, "- errors of %s %s %s: %s\n", x.Scenario, x.Server, x.Engine, strings.Join(x.ErrorSamples, " | "))
		}
	}
	return b.String()
}

func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func delay(ms float64) string {
	if ms == 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// Write saves the report as bench.json and bench.md in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.md"), []byte(r.Markdown()), 0o644)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// parseCount reads 1000, 1k, 1M, 1_000_000.
func parseCount(s string) (int, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	mul := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mul, s = 1000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mul, s = 1_000_000, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	return n * mul, err
}

// Usage is the bench command's help.
const Usage = `usage: billkey bench [flags]
  -scenario again|get|token|floor (comma list; default again)
  -n 20000 -c 64 -max-time 2m -warmup 500 -customers 100 -pg-delay 0
  -engine sqlite|postgres (comma list; self-started servers) -stored 0,1000,1M (payments seeded first)
  -floor=true (measure the floor program beside again) -cpuprofile (profiles into -out)
  -url http://127.0.0.1:8080 -imp-key K -imp-secret S [-pid P] (drive a running billkey instead)
  -out testout/bench (bench.json, bench.md, server logs, profiles)
`

// Main is billkey bench: the load tool, and its child processes
// (billkey bench serve, billkey bench floor-server).
func Main(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return ServeBillkey(args[1:])
		case "floor-server":
			return ServeFloor(args[1:])
		}
	}
	var o Options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }
	scen := fs.String("scenario", "again", "again, get, token, floor (comma list)")
	engines := fs.String("engine", "sqlite", "sqlite, postgres (comma list)")
	stored := fs.String("stored", "0", "payments stored before the server starts (comma list: 0,1000,1M)")
	fs.IntVar(&o.N, "n", 20000, "requests per measured run")
	fs.IntVar(&o.C, "c", 64, "concurrent requests")
	fs.DurationVar(&o.MaxTime, "max-time", 2*time.Minute, "bound of one measured run")
	fs.IntVar(&o.Warmup, "warmup", 500, "unmeasured requests before each run")
	fs.IntVar(&o.Customers, "customers", 100, "customers issued by key-in before the runs")
	fs.DurationVar(&o.PGDelay, "pg-delay", 0, "the PG stub's delay before answering a charge")
	fs.BoolVar(&o.Floor, "floor", true, "measure the floor program beside again")
	fs.BoolVar(&o.Profile, "cpuprofile", false, "write CPU profiles of the measured runs (server and floor) into -out")
	fs.StringVar(&o.URL, "url", "", "drive this running billkey (loopback only) instead of starting one")
	fs.StringVar(&o.ImpKey, "imp-key", "", "with -url")
	fs.StringVar(&o.ImpSecret, "imp-secret", "", "with -url")
	fs.IntVar(&o.Pid, "pid", 0, "with -url: the server's pid, to report its CPU and RSS")
	fs.StringVar(&o.Out, "out", "testout/bench", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Scenarios, o.Engines = splitList(*scen), splitList(*engines)
	for _, s := range splitList(*stored) {
		n, err := parseCount(s)
		if err != nil {
			return fmt.Errorf("bench: -stored %q: %w", s, err)
		}
		o.Seeds = append(o.Seeds, n)
	}
	o.Log = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, o)
	if err != nil {
		return err
	}
	rep.Command = "billkey bench " + strings.Join(args, " ")
	if o.Out != "" {
		if err := rep.Write(o.Out); err != nil {
			return err
		}
	}
	fmt.Fprint(stdout, rep.Markdown())
	return nil
}
