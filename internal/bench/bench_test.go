package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary stand in for billkey in the child
// processes the bench starts (billkey bench serve | floor-server).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		if err := Main(os.Args[2:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs the tool for a few hundred requests on loopback and checks
// the report is complete and sane. No timing assertions: performance lives
// in the benchmark itself.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Scenarios: []string{ScenarioAgain, ScenarioGet, ScenarioToken}, Seeds: []int{0, 1000},
		N: 300, C: 8, Warmup: 20, Customers: 5, Floor: true, Profile: true, Out: out, MaxTime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Write(out); err != nil {
		t.Fatal(err)
	}
	// floor, then again/get/token for 0 and 1000 stored payments.
	if len(rep.Results) != 7 {
		t.Fatalf("%d results: %+v", len(rep.Results), rep.Results)
	}
	for _, r := range rep.Results {
		if r.Requested != 300 || r.Done != 300 || r.OK != 300 || r.Errors != 0 {
			t.Errorf("%s %s: counts %d/%d ok %d errors %d %v", r.Scenario, r.Server, r.Done, r.Requested, r.OK, r.Errors, r.ErrorSamples)
		}
		if r.Throughput <= 0 || r.P50MS <= 0 || r.P50MS > r.P90MS || r.P90MS > r.P99MS || r.P99MS > r.MaxMS {
			t.Errorf("%s %s: figures %+v", r.Scenario, r.Server, r)
		}
		if r.PeakRSSMB <= 0 || r.ServerCPUS <= 0 {
			t.Errorf("%s %s: server CPU %v s, RSS %v MiB", r.Scenario, r.Server, r.ServerCPUS, r.PeakRSSMB)
		}
		if r.Scenario == ScenarioAgain && r.PGCalls != 300 {
			t.Errorf("%s %s: %d PG calls for 300 charges", r.Scenario, r.Server, r.PGCalls)
		}
		if r.Server == "billkey" && r.Scenario == ScenarioAgain && r.FloorRatio <= 0 {
			t.Errorf("again without a floor ratio")
		}
		if r.Profile != "" {
			if fi, err := os.Stat(r.Profile); err != nil || fi.Size() == 0 {
				t.Errorf("profile %s: %v", r.Profile, err)
			}
		}
	}
	if rep.Results[0].Server != "floor" || rep.Results[4].Stored != 1000 {
		t.Errorf("order: %+v", rep.Results)
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(out, "bench.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || len(back.Results) != 7 {
		t.Fatalf("bench.json: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(out, "bench.md"))
	if err != nil || !strings.Contains(string(md), "| again | billkey | sqlite |") {
		t.Fatalf("bench.md: %v\n%s", err, md)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	_, err := Run(context.Background(), Options{URL: "http://10.1.2.3:8080", ImpKey: "k", ImpSecret: "s"})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseCount(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "1000": 1000, "1k": 1000, "1M": 1_000_000, "1_000_000": 1_000_000} {
		if got, err := parseCount(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
}
