package main

// Process tests of the billkey binary: the merchant admin commands on a data
// directory, and `billkey` / `billkey serve` started on it.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// billkeyBin builds the binary once per test run.
func billkeyBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "billkey-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "billkey")
		binOut, binErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("build: %v\n%s", binErr, binOut)
	}
	return binPath
}

// cleanEnv is the test's environment without BILLKEY_* settings, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BILLKEY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// run runs one billkey command to its end.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(billkeyBin(t), args...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("billkey %v did not finish\nstdout: %s\nstderr: %s", args, o.String(), e.String())
	}
	return o.String(), e.String(), err
}

// mustRun runs a command that has to succeed.
func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	o, e, err := run(t, args...)
	if err != nil {
		t.Fatalf("billkey %v: %v\nstdout: %s\nstderr: %s", args, err, o, e)
	}
	return o, e
}

type credentials struct {
	MerchantCode string `json:"merchant_code"`
	ImpKey       string `json:"imp_key"`
	ImpSecret    string `json:"imp_secret"`
}

var (
	merchantCodeRe = regexp.MustCompile(`^imp[0-9]{8}$`)
	impKeyRe       = regexp.MustCompile(`^[0-9]{16}$`)
	secretRe       = regexp.MustCompile(`^[A-Za-z0-9]{80}$`)
)

func parseCred(t *testing.T, out string) credentials {
	t.Helper()
	var c credentials
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("credentials %q: %v", out, err)
	}
	if !merchantCodeRe.MatchString(c.MerchantCode) || !impKeyRe.MatchString(c.ImpKey) || !secretRe.MatchString(c.ImpSecret) {
		t.Fatalf("credentials = %+v", c)
	}
	return c
}

type listed struct {
	Code, Name, WebhookURL string
	ImpKeys                []string
	Channels               []struct {
		Provider, MID string
		Live, Default bool
	}
}

func list(t *testing.T, dataDir string) map[string]listed {
	t.Helper()
	out, _ := mustRun(t, "merchant", "list", "-data-dir", dataDir)
	var ms []listed
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		t.Fatalf("merchant list %q: %v", out, err)
	}
	res := map[string]listed{}
	for _, m := range ms {
		res[m.Code] = m
	}
	return res
}

func channels(m listed) string {
	var s []string
	for _, c := range m.Channels {
		x := c.Provider + "." + c.MID
		if c.Default {
			x += "*"
		}
		if c.Live {
			x += "(live)"
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuf collects a running process's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running billkey process.
type server struct {
	base           string
	stdout, stderr *syncBuf
	cmd            *exec.Cmd
	done           chan error
	stopped        bool
	exitErr        error
}

// startServer starts billkey with args and env and waits until /healthz
// answers and the start-up banner is complete.
func startServer(t *testing.T, addr string, env []string, args ...string) *server {
	t.Helper()
	s := &server{base: "http://" + addr, stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan error, 1)}
	s.cmd = exec.Command(billkeyBin(t), args...)
	s.cmd.Env = cleanEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop(t) })
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; ; i++ {
		select {
		case err := <-s.done:
			s.stopped, s.exitErr = true, err
			t.Fatalf("billkey %v exited: %v\nstdout: %s\nstderr: %s", args, err, s.stdout, s.stderr)
		default:
		}
		up := false
		if resp, err := client.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
		}
		if up && strings.Contains(s.stdout.String(), "health: ") {
			return s
		}
		if i == 200 {
			t.Fatalf("billkey %v did not come up on %s\nstdout: %s\nstderr: %s", args, addr, s.stdout, s.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop interrupts the server and waits for it to exit (bounded).
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case s.exitErr = <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.exitErr = <-s.done
		t.Errorf("billkey did not stop on SIGINT\nstderr: %s", s.stderr)
	}
}

// getToken calls POST /users/getToken; it returns the i'mport code and the token.
func getToken(t *testing.T, base, key, secret string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"imp_key": key, "imp_secret": secret})
	resp, err := http.Post(base+"/users/getToken", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Code     int `json:"code"`
		Response *struct {
			AccessToken string `json:"access_token"`
			ExpiredAt   int64  `json:"expired_at"`
		} `json:"response"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if env.Code == 0 {
		if resp.StatusCode != 200 || env.Response == nil || len(env.Response.AccessToken) != 40 {
			t.Fatalf("getToken: HTTP %d %+v", resp.StatusCode, env.Response)
		}
		return 0, env.Response.AccessToken
	}
	return env.Code, ""
}

// TestCLIMerchantAdmin runs the merchant commands on a fresh data directory,
// then serves it and checks the credentials they printed.
func TestCLIMerchantAdmin(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")

	// create: credentials as JSON on stdout, shown once.
	out, errOut := mustRun(t, "merchant", "create", "-data-dir", data, "-name", "Shop A")
	a1 := parseCred(t, out)
	if !strings.Contains(errOut, "shown once") {
		t.Errorf("create stderr %q", errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); err != nil {
		t.Fatalf("no master key after create: %v", err)
	}
	out, _ = mustRun(t, "merchant", "create", "-data-dir", data, "-name", "Shop B", "-code", "imp12345678", "-demo-channels")
	b1 := parseCred(t, out)
	if b1.MerchantCode != "imp12345678" || b1.ImpKey == a1.ImpKey || b1.ImpSecret == a1.ImpSecret {
		t.Fatalf("second merchant %+v (first %+v)", b1, a1)
	}
	for _, bad := range [][]string{
		{"-code", "imp1234"}, {"-code", "abc12345678"}, {"-code", "imp12345678"}, // malformed, taken
	} {
		if o, e, err := run(t, append([]string{"merchant", "create", "-data-dir", data}, bad...)...); err == nil || o != "" || !strings.Contains(e, "billkey:") {
			t.Errorf("create %v: err %v stdout %q stderr %q", bad, err, o, e)
		}
	}

	// list: both merchants, their API keys, never a secret.
	out, _ = mustRun(t, "merchant", "list", "-data-dir", data)
	if strings.Contains(out, a1.ImpSecret) || strings.Contains(out, b1.ImpSecret) || strings.Contains(strings.ToLower(out), "secret") {
		t.Fatalf("merchant list shows secrets: %s", out)
	}
	ms := list(t, data)
	if len(ms) != 2 || ms[a1.MerchantCode].Name != "Shop A" || ms[b1.MerchantCode].Name != "Shop B" {
		t.Fatalf("list = %+v", ms)
	}
	if k := ms[a1.MerchantCode].ImpKeys; len(k) != 1 || k[0] != a1.ImpKey || len(ms[a1.MerchantCode].Channels) != 0 {
		t.Fatalf("Shop A = %+v", ms[a1.MerchantCode])
	}
	if got := channels(ms[b1.MerchantCode]); got != "kakaopay.TCSUBSCRIP* payco.AUTOPAY testpg.billkey" {
		t.Fatalf("Shop B channels %q", got)
	}

	// add-channel: the first channel is the default; -default moves it.
	out, _ = mustRun(t, "merchant", "add-channel", "-data-dir", data, "-merchant", a1.MerchantCode, "-provider", "testpg", "-mid", "shopa", "-cred", "secret=test")
	if strings.TrimSpace(out) != "added channel testpg.shopa (live=false default=true)" {
		t.Fatalf("add-channel: %q", out)
	}
	out, _ = mustRun(t, "merchant", "add-channel", "-data-dir", data, "-merchant", a1.MerchantCode, "-provider", "kakaopay", "-mid", "TCSUBSCRIP",
		"-default", "-cred", "secret_key=DEV_SECRET_KEY_FOR_TEST")
	if strings.TrimSpace(out) != "added channel kakaopay.TCSUBSCRIP (live=false default=true)" {
		t.Fatalf("add-channel -default: %q", out)
	}
	for _, bad := range [][]string{
		{"-merchant", a1.MerchantCode, "-provider", "inicis", "-mid", "x"},
		{"-merchant", "imp99999999", "-provider", "testpg", "-mid", "x"},
		{"-merchant", a1.MerchantCode, "-provider", "testpg", "-mid", "x", "-cred", "novalue"},
	} {
		if _, e, err := run(t, append([]string{"merchant", "add-channel", "-data-dir", data}, bad...)...); err == nil {
			t.Errorf("add-channel %v succeeded: %s", bad, e)
		}
	}
	ms = list(t, data)
	if got := channels(ms[a1.MerchantCode]); got != "testpg.shopa kakaopay.TCSUBSCRIP*" {
		t.Fatalf("Shop A channels %q", got)
	}
	if out, _ := mustRun(t, "merchant", "list", "-data-dir", data); strings.Contains(out, "DEV_SECRET_KEY_FOR_TEST") {
		t.Fatalf("list shows a channel credential: %s", out)
	}

	// rotate-secret: with a grace period the old pair keeps working (and is
	// listed with its expiry); with -grace 0 it stops at once.
	out, errOut = mustRun(t, "merchant", "rotate-secret", "-data-dir", data, "-grace", "1h", a1.MerchantCode)
	a2 := parseCred(t, out)
	if a2.MerchantCode != a1.MerchantCode || a2.ImpKey == a1.ImpKey || a2.ImpSecret == a1.ImpSecret || !strings.Contains(errOut, "1h0m0s") {
		t.Fatalf("rotate-secret: %+v (stderr %q)", a2, errOut)
	}
	out, _ = mustRun(t, "merchant", "rotate-secret", "-data-dir", data, "-grace", "0s", b1.MerchantCode)
	b2 := parseCred(t, out)
	if _, e, err := run(t, "merchant", "rotate-secret", "-data-dir", data, "imp99999999"); err == nil {
		t.Errorf("rotate-secret of an unknown merchant succeeded: %s", e)
	}
	if _, _, err := run(t, "merchant", "rotate-secret", "-data-dir", data); err == nil {
		t.Errorf("rotate-secret without a merchant code succeeded")
	}
	ms = list(t, data)
	keysA := ms[a1.MerchantCode].ImpKeys
	if len(keysA) != 2 || !strings.HasPrefix(keysA[0], a1.ImpKey+" (expires ") || keysA[1] != a2.ImpKey {
		t.Fatalf("Shop A keys after rotation: %q", keysA)
	}

	// Serve the directory (flags: loopback address, no demo merchant).
	addr := freeAddr(t)
	srv := startServer(t, addr, nil, "serve", "-addr", addr, "-data-dir", data, "-demo=false")
	if strings.Contains(srv.stdout.String(), "Demo merchant") {
		t.Errorf("-demo=false created a demo merchant:\n%s", srv.stdout)
	}
	for _, c := range []struct {
		name string
		cred credentials
		ok   bool
	}{
		{"Shop A old pair (in grace)", a1, true},
		{"Shop A new pair", a2, true},
		{"Shop B old pair (grace 0)", b1, false},
		{"Shop B new pair", b2, true},
		{"old key, new secret", credentials{ImpKey: a1.ImpKey, ImpSecret: a2.ImpSecret}, false},
	} {
		code, tok := getToken(t, srv.base, c.cred.ImpKey, c.cred.ImpSecret)
		if (code == 0) != c.ok {
			t.Errorf("%s: getToken code %d, want ok=%v", c.name, code, c.ok)
		}
		if c.ok && tok == "" {
			t.Errorf("%s: no token", c.name)
		}
	}
	// A token from the new pair works on the API (Shop A has a testpg channel).
	_, tok := getToken(t, srv.base, a2.ImpKey, a2.ImpSecret)
	req, _ := http.NewRequest("POST", srv.base+"/subscribe/customers/cli_cust_1", strings.NewReader("pg=testpg&card_number=4242-4242-4242-4242&expiry=2030-12"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Code     int `json:"code"`
		Response struct {
			CustomerUID string `json:"customer_uid"`
			PGProvider  string `json:"pg_provider"`
			PGID        string `json:"pg_id"`
		} `json:"response"`
	}
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if resp.StatusCode != 200 || env.Code != 0 || env.Response.CustomerUID != "cli_cust_1" || env.Response.PGID != "shopa" {
		t.Fatalf("issue a key on Shop A's testpg channel: HTTP %d %+v", resp.StatusCode, env)
	}
	srv.stop(t)
	if srv.exitErr != nil {
		t.Errorf("serve exit after SIGINT: %v\nstderr: %s", srv.exitErr, srv.stderr)
	}
}

var (
	bannerCodeRe   = regexp.MustCompile(`(?m)^\s*merchant code \(IMP\.init\):\s+(\S+)\s*$`)
	bannerKeyRe    = regexp.MustCompile(`(?m)^\s*REST API key:\s+(\S+)\s*$`)
	bannerSecretRe = regexp.MustCompile(`(?m)^\s*REST API secret:\s+(\S+)\s+\(shown once`)
)

// TestServeFirstStart starts `billkey` (no command: serve) on a fresh data
// directory, configured through BILLKEY_* variables: it creates the demo
// merchant and prints its code, REST API key and secret (which work), and
// its configuration and logs show no secret. A second start on the same
// directory prints the code again, but no secret.
func TestServeFirstStart(t *testing.T) {
	masterKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))
	for _, c := range []struct {
		name string
		env  func(data string) []string
	}{
		{"key file", func(string) []string { return nil }},
		{"BILLKEY_MASTER_KEY", func(string) []string { return []string{"BILLKEY_MASTER_KEY=" + masterKey} }},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			addr := freeAddr(t)
			env := append([]string{"BILLKEY_ADDR=" + addr, "BILLKEY_DATA_DIR=" + data}, c.env(data)...)
			srv := startServer(t, addr, env)
			stdout, stderr := srv.stdout.String(), srv.stderr.String()
			all := stdout + stderr

			mc, mk, ms := bannerCodeRe.FindStringSubmatch(stdout), bannerKeyRe.FindStringSubmatch(stdout), bannerSecretRe.FindStringSubmatch(stdout)
			if mc == nil || mk == nil || ms == nil {
				t.Fatalf("banner without merchant code, key or secret:\n%s", stdout)
			}
			code, key, secret := mc[1], mk[1], ms[1]
			if !merchantCodeRe.MatchString(code) || !impKeyRe.MatchString(key) || !secretRe.MatchString(secret) {
				t.Fatalf("banner: code %q key %q secret %q", code, key, secret)
			}
			if !strings.Contains(stdout, "serving the i'mport V1 API at http://"+addr+" ") {
				t.Errorf("banner does not show the address:\n%s", stdout)
			}
			// The printed pair works.
			if st, tok := getToken(t, srv.base, key, secret); st != 0 || tok == "" {
				t.Fatalf("getToken with the printed pair: code %d", st)
			}
			if st, _ := getToken(t, srv.base, key, secret[:79]+"x"); st == 0 {
				t.Fatalf("getToken with a wrong secret succeeded")
			}

			// The secret is printed once: in the banner line, nowhere else.
			if n := strings.Count(all, secret); n != 1 {
				t.Errorf("API secret appears %d times in the output", n)
			}
			// The configuration is logged, without the master key.
			start := ""
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "billkey starting") {
					start = l
				}
			}
			if start == "" || !strings.Contains(start, "addr="+addr) || !strings.Contains(start, "data_dir="+data) || !strings.Contains(start, "mode=test") {
				t.Fatalf("no start-up configuration line:\n%s", stderr)
			}
			var keys []string
			if c.env(data) != nil {
				keys = []string{masterKey}
				if !strings.Contains(start, `master_key="BILLKEY_MASTER_KEY (set)"`) {
					t.Errorf("configuration line %q", start)
				}
				if _, err := os.Stat(filepath.Join(data, "master.key")); err == nil {
					t.Errorf("a key file was created though BILLKEY_MASTER_KEY is set")
				}
			} else {
				b, err := os.ReadFile(filepath.Join(data, "master.key"))
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range strings.Fields(string(b)) {
					_, k, _ := strings.Cut(l, ":")
					keys = append(keys, k)
				}
				if len(keys) != 1 || len(keys[0]) != 44 {
					t.Fatalf("master key file %q", b)
				}
				if !strings.Contains(stdout, "WARNING: generated a new master key at "+filepath.Join(data, "master.key")) {
					t.Errorf("no warning about the new master key:\n%s", stdout)
				}
			}
			for _, k := range keys {
				raw, _ := base64.StdEncoding.DecodeString(k)
				for _, form := range []string{k, fmt.Sprintf("%x", raw), base64.RawURLEncoding.EncodeToString(raw)} {
					if strings.Contains(all, form) {
						t.Errorf("the master key is in the output (%s…)", form[:8])
					}
				}
			}
			srv.stop(t)
			if srv.exitErr != nil {
				t.Errorf("exit after SIGINT: %v", srv.exitErr)
			}

			// Second start: the same demo merchant, the secret not shown again.
			srv = startServer(t, addr, env)
			stdout2 := srv.stdout.String()
			if m := bannerCodeRe.FindStringSubmatch(stdout2); m == nil || m[1] != code {
				t.Fatalf("second start banner:\n%s", stdout2)
			}
			if strings.Contains(stdout2+srv.stderr.String(), secret) || bannerSecretRe.MatchString(stdout2) || strings.Contains(stdout2, "WARNING: generated") {
				t.Fatalf("second start shows the secret or a new key:\n%s", stdout2)
			}
			if st, _ := getToken(t, srv.base, key, secret); st != 0 {
				t.Fatalf("getToken after restart: code %d", st)
			}
		})
	}
}
