package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestPGSimStandalone runs `billkey pgsim` as its own process and issues and
// charges a key on its test PG over HTTP, the way a channel pointed at it would.
func TestPGSimStandalone(t *testing.T) {
	bin := billkeyBin(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "pgsim", "-addr", addr, "-data-dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	base := "http://" + addr + "/pgsim/testpg"
	ok := false
	for i := 0; i < 100 && !ok; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			ok = resp.StatusCode == 200
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ok {
		t.Fatal("pgsim did not come up")
	}
	post := func(path string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "TestPG test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st, key := post("/v1/keys", map[string]string{"card_number": "4242-4242-4242-4242", "expiry": "2030-12"})
	if st != 200 || key["billing_key"] == nil {
		t.Fatalf("issue: %d %v", st, key)
	}
	st, ch := post("/v1/charges", map[string]any{"billing_key": key["billing_key"], "order_id": "o1", "amount": 1000})
	if st != 200 || ch["status"] != "paid" {
		t.Fatalf("charge: %d %v", st, ch)
	}
}
