// Package proctest runs the real billkey binary as a child process, for the
// tests that must kill it, restart it or read what it prints.
package proctest

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"billkey/internal/testutil/apptest"
)

// Build compiles billkey into a temporary directory and returns its path.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "billkey")
	if out, err := exec.Command("go", "build", "-o", bin, "billkey/cmd/billkey").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr returns a loopback address no one listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Proc is a running billkey with its stdout and stderr captured.
type Proc struct {
	Cmd  *exec.Cmd
	Logs *apptest.SyncBuffer
	Done chan struct{} // closed once the process has exited
	Err  error         // what Wait returned, set before Done closes
}

// Start runs bin with args and the test's environment plus env; the process
// is killed when the test ends.
func Start(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(bin, args...), Logs: &apptest.SyncBuffer{}, Done: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.Err = p.Cmd.Wait(); close(p.Done) }()
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		<-p.Done
	})
	return p
}

// WaitHealthy waits (up to ~30 s) for base's /healthz to answer 200.
func (p *Proc) WaitHealthy(t testing.TB, base string) {
	t.Helper()
	for i := 0; i < 300; i++ {
		select {
		case <-p.Done:
			t.Fatalf("billkey exited early: %v\n%s", p.Err, p.Logs)
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
	t.Fatalf("billkey did not become healthy\n%s", p.Logs)
}

// Kill sends SIGKILL and checks the process died of it.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case <-p.Done:
	case <-time.After(20 * time.Second):
		t.Fatal("billkey did not die of SIGKILL")
	}
	if ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("billkey ended by %v, not by SIGKILL\n%s", p.Cmd.ProcessState, p.Logs)
	}
}

// DataArgs are the flags that put billkey on a fresh database of engine in
// dir (SQLite in dir, or a new PostgreSQL database).
func DataArgs(t testing.TB, engine, dir string) []string {
	t.Helper()
	args := []string{"-data-dir", dir}
	if engine == "postgres" {
		args = append(args, "-database-url", apptest.DatabaseURL(t, engine, dir))
	}
	return args
}

// CreateMerchant runs `billkey merchant create -demo-channels -name name` on
// dataArgs and returns the REST API key and secret it prints.
func CreateMerchant(t testing.TB, bin string, dataArgs []string, name string) (key, secret string) {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"merchant", "create", "-demo-channels", "-name", name}, dataArgs...)...).Output()
	var cred struct {
		ImpKey    string `json:"imp_key"`
		ImpSecret string `json:"imp_secret"`
	}
	if err != nil || json.Unmarshal(out, &cred) != nil || cred.ImpKey == "" {
		t.Fatalf("merchant create: %v %s", err, out)
	}
	return cred.ImpKey, cred.ImpSecret
}
