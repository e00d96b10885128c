package billing_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/testutil/apptest"
)

// buildBillkey compiles the real binary once per test process.
func buildBillkey(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "billkey")
	cmd := exec.Command("go", "build", "-o", bin, "billkey/cmd/billkey")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd  *exec.Cmd
	logs *syncBuf
	done chan struct{} // closed when the process has exited
	err  error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), logs: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func waitHealthy(t *testing.T, base string, p *proc) {
	t.Helper()
	for i := 0; i < 300; i++ {
		select {
		case <-p.done:
			t.Fatalf("billkey exited early: %v\n%s", p.err, p.logs)
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("billkey did not become healthy\n%s", p.logs)
}

func call(t *testing.T, method, u, token string, body any) (int, apptest.Envelope, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return 0, apptest.Envelope{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env apptest.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return resp.StatusCode, env, fmt.Errorf("not an envelope: %q", raw)
	}
	env.Raw = raw
	return resp.StatusCode, env, nil
}

// TestCrashBetweenPGAnswerAndCommit kills billkey (a failpoint exits the
// process) after the PG charged but before the outcome was committed, then
// restarts it: the reconciler must settle the payment from the PG's record,
// and the merchant_uid must not be chargeable again.
func TestCrashBetweenPGAnswerAndCommit(t *testing.T) {
	bin := buildBillkey(t)
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			dbArgs := []string{"-data-dir", dir}
			if engine == "postgres" {
				dbArgs = append(dbArgs, "-database-url", apptest.DatabaseURL(t, engine, dir))
			}
			out, err := exec.Command(bin, append([]string{"merchant", "create", "-demo-channels", "-name", "crash"}, dbArgs...)...).Output()
			if err != nil {
				t.Fatalf("merchant create: %v", err)
			}
			var cred struct{ ImpKey, ImpSecret string }
			if err := json.Unmarshal(bytes.ReplaceAll(bytes.ReplaceAll(out, []byte("imp_key"), []byte("ImpKey")), []byte("imp_secret"), []byte("ImpSecret")), &cred); err != nil || cred.ImpKey == "" {
				t.Fatalf("credentials: %v %s", err, out)
			}
			addr := freeAddr(t)
			base := "http://" + addr
			env := []string{"BILLKEY_PG_TIMEOUT=2s", "BILLKEY_RECONCILE_INTERVAL=200ms", "BILLKEY_DEMO=false"}
			args := append([]string{"serve", "-addr", addr}, dbArgs...)

			p1 := startProc(t, bin, append(env, "BILLKEY_FAILPOINT=after-pg-charge"), args...)
			waitHealthy(t, base, p1)
			_, tokEnv, err := call(t, "POST", base+"/users/getToken", "", map[string]string{"imp_key": cred.ImpKey, "imp_secret": cred.ImpSecret})
			if err != nil || tokEnv.Code != 0 {
				t.Fatalf("getToken: %v %s", err, tokEnv.Raw)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal(tokEnv.Response, &tok)
			if st, e, err := call(t, "POST", base+"/subscribe/customers/crash_c", tok.AccessToken,
				map[string]string{"pg": "testpg", "card_number": "4242-4242-4242-4242", "expiry": "2030-12"}); err != nil || st != 200 || e.Code != 0 {
				t.Fatalf("issue: %v %d %s", err, st, e.Raw)
			}
			_, _, err = call(t, "POST", base+"/subscribe/payments/again", tok.AccessToken,
				map[string]any{"customer_uid": "crash_c", "merchant_uid": "crash-order", "amount": 4321})
			if err == nil {
				t.Fatalf("the failpoint did not stop the server\n%s", p1.logs)
			}
			select {
			case <-p1.done:
			case <-time.After(20 * time.Second):
				t.Fatal("billkey did not exit at the failpoint")
			}
			if !strings.Contains(p1.logs.String(), "failpoint reached") {
				t.Fatalf("billkey died for another reason:\n%s", p1.logs)
			}

			p2 := startProc(t, bin, env, args...)
			waitHealthy(t, base, p2)
			_, e, _ := call(t, "POST", base+"/users/getToken", "", map[string]string{"imp_key": cred.ImpKey, "imp_secret": cred.ImpSecret})
			json.Unmarshal(e.Response, &tok)
			var pay payment
			for i := 0; i < 200; i++ { // up to ~20 s: the lease is PG timeout + grace
				st, e, err := call(t, "GET", base+"/payments/find/crash-order", tok.AccessToken, nil)
				if err == nil && st == 200 {
					json.Unmarshal(e.Response, &pay)
					if pay.Status != "ready" {
						break
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			if pay.Status != "paid" || pay.PaidAt == 0 || pay.PGTID == nil {
				t.Fatalf("after restart the payment is %+v, want paid from the PG's record\n%s", pay, p2.logs)
			}
			resp, err := http.Get(base + "/pgsim/testpg/_sim/ledger?order_id=" + url.QueryEscape(pay.ImpUID))
			if err != nil {
				t.Fatal(err)
			}
			var ledger []ledgerEntry
			json.NewDecoder(resp.Body).Decode(&ledger)
			resp.Body.Close()
			if countKind(ledger, "charge", "") != 1 || ledger[0].Amount != 4321 {
				t.Fatalf("PG ledger for %s: %+v, want exactly one charge of 4321", pay.ImpUID, ledger)
			}
			// The merchant_uid is taken: a retry is refused, not charged twice.
			if _, e, _ := call(t, "POST", base+"/subscribe/payments/again", tok.AccessToken,
				map[string]any{"customer_uid": "crash_c", "merchant_uid": "crash-order", "amount": 4321}); e.Code != 1 {
				t.Fatalf("retry after crash: %s", e.Raw)
			}
		})
	}
}
