package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// postgres is a throwaway PostgreSQL on its DEFAULT configuration (fsync on,
// synchronous_commit on, full_page_writes on, max_connections 100), started
// from the installed binaries the way internal/testutil/pgtest does (which
// turns durability off for tests: the bench must not). It listens on a free
// 127.0.0.1 port only; a watchdog stops it if the bench dies.
type postgres struct {
	dir      string
	pgCtl    string
	runAs    *syscall.Credential
	URL      string // the "billkey" database
	watchdog *os.Process
}

func findPGBinaries() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if has(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	ver := func(d string) float64 { v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64); return v }
	sort.Slice(dirs, func(i, j int) bool { return ver(dirs[i]) > ver(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("bench: PostgreSQL binaries (initdb, pg_ctl, postgres) not found")
}

func (p *postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if p.runAs != nil {
		cmd.SysProcAttr.Credential = p.runAs
		cmd.Env = append(os.Environ(), "HOME="+p.dir, "USER=postgres", "LOGNAME=postgres")
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func startPostgres(ctx context.Context) (*postgres, error) {
	bin, err := findPGBinaries()
	if err != nil {
		return nil, err
	}
	p := &postgres{pgCtl: filepath.Join(bin, "pg_ctl")}
	if os.Geteuid() == 0 { // initdb refuses root: run as the postgres OS user
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("bench: running as root and no postgres OS user: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.runAs = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	base := os.TempDir()
	if p.runAs != nil {
		base = "/tmp"
	}
	if p.dir, err = os.MkdirTemp(base, "billkey-bench-pg-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			p.stop()
		}
	}()
	if p.runAs != nil {
		if err := os.Chown(p.dir, int(p.runAs.Uid), int(p.runAs.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(p.dir, "data")
	if out, err := p.command(ctx, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logFile := filepath.Join(p.dir, "postgres.log")
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", port, p.dir)
	if out, err := p.command(ctx, p.pgCtl, "start", "-D", data, "-l", logFile, "-w", "-t", "60", "-s", "-o", opts).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	script := fmt.Sprintf(`while [ -d /proc/%d ]; do sleep 1; done; '%s' stop -D '%s' -m immediate -s >/dev/null 2>&1; rm -rf '%s'`,
		os.Getpid(), p.pgCtl, data, p.dir)
	wd := p.command(context.Background(), "/bin/sh", "-c", script)
	wd.SysProcAttr.Setpgid = true
	if wd.Start() == nil {
		p.watchdog = wd.Process
	}
	admin, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE billkey"); err != nil {
		return nil, err
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/billkey?sslmode=disable", port)
	ok = true
	return p, nil
}

// settings reads the durability settings, for the report.
func (p *postgres) settings(ctx context.Context) string {
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		return ""
	}
	defer db.Close()
	var out []string
	for _, name := range []string{"server_version", "fsync", "synchronous_commit", "full_page_writes", "max_connections"} {
		var v string
		if db.QueryRowContext(ctx, "SELECT current_setting($1)", name).Scan(&v) == nil {
			out = append(out, name+"="+v)
		}
	}
	return strings.Join(out, " ")
}

func (p *postgres) stop() {
	if p.dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.command(ctx, p.pgCtl, "stop", "-D", filepath.Join(p.dir, "data"), "-m", "fast", "-w", "-s").Run()
	if p.watchdog != nil {
		syscall.Kill(-p.watchdog.Pid, syscall.SIGKILL)
		p.watchdog.Wait()
	}
	os.RemoveAll(p.dir)
	p.dir = ""
}
