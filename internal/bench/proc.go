package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on every
// Linux architecture Go supports).
const clkTck = 100

// cpuSeconds reads utime+stime of pid.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench: bad utime/stime")
	}
	return float64(u+st) / clkTck, nil
}

// peakRSSMB reads VmHWM (peak resident set) of pid, in MiB.
func peakRSSMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("bench: no VmHWM")
}

// child is a server process the bench started.
type child struct {
	name string
	cmd  *exec.Cmd
	URL  string
	done chan error
	log  *os.File
}

// Pid is the child's process id.
func (c *child) Pid() int { return c.cmd.Process.Pid }

// startChild runs exe with args, handing it a loopback listener as fd 3
// (flag -listen-fd 3 in args is the child's to honour), its stderr and
// stdout to logPath, and waits until GET readyPath answers 200.
func startChild(ctx context.Context, name, exe string, args []string, env []string, logPath, readyPath string) (*child, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lf, err := ln.(*net.TCPListener).File()
	ln.Close() // the duplicate in lf stays open and is handed over
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	addr := ln.Addr().String()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args = append(args, "-addr", addr, "-listen-fd", "3")
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{lf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{name: name, cmd: cmd, URL: "http://" + addr, done: make(chan error, 1), log: logf}
	go func() { c.done <- cmd.Wait() }()
	if err := c.waitReady(ctx, readyPath, 120*time.Second); err != nil {
		c.stop()
		tail, _ := os.ReadFile(logPath)
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		return nil, fmt.Errorf("%s did not become ready: %w\n%s", name, err, tail)
	}
	return c, nil
}

func (c *child) waitReady(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	cl := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := cl.Get(c.URL + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v (last: %v)", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signal sends sig to the child.
func (c *child) signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// stop asks the child to shut down (SIGTERM), killing it after 30 s.
func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		err = <-c.done
	}
	c.log.Close()
	return err
}

// childEnv is the environment without BILLKEY_* variables (the bench passes
// what it wants as flags), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BILLKEY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
