// Package pgtest gives tests a real, throwaway PostgreSQL server.
//
// The first DSN call in a test binary starts one server from the installed
// binaries (initdb, pg_ctl, postgres: PATH first, then the newest
// /usr/lib/postgresql/*/bin) in a temporary directory, listening on a free
// 127.0.0.1 port only, with fsync off. Every DSN call then creates a fresh
// database (t_<random>) on it, dropped when the test ends, so tests are
// isolated and may run in parallel.
//
// Use it from a package's tests:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		db, err := sql.Open("pgx", pgtest.DSN(t))
//		...
//	}
//
// ServerFiles names the server's data directory and log, for tests that
// check what PostgreSQL wrote to disk.
//
// Main stops the server (pg_ctl stop -m immediate) and removes its directory
// when the tests finish. Without Main, or if the binary dies, a small watchdog
// process does the same once the test process is gone.
//
// Environment:
//   - BILLKEY_TEST_DATABASE_URL: use that server instead of starting one
//     (databases are created and dropped on it; the role must be allowed to
//     CREATE DATABASE).
//   - BILLKEY_TEST_REQUIRE: a comma list of things that must be available
//     ("postgres", "browser", …). When PostgreSQL is missing, DSN skips the
//     test unless the list names postgres, in which case it fails.
//
// When the tests run as root (initdb refuses root), the server runs as the
// "postgres" OS user (created by Debian's postgresql package) and the
// temporary directory is handed to it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Environment variables.
const (
	EnvDatabaseURL = "BILLKEY_TEST_DATABASE_URL"
	EnvRequire     = "BILLKEY_TEST_REQUIRE"
)

// DriverName is the database/sql driver the DSNs are meant for.
const DriverName = "pgx"

const missingMsg = "PostgreSQL not installed (initdb/pg_ctl not found in PATH or /usr/lib/postgresql/*/bin); set " +
	EnvRequire + "=postgres to make this fatal"

// Required reports whether BILLKEY_TEST_REQUIRE names what ("postgres",
// "browser", …; case-insensitive; "all" names everything). Suites use it to
// decide between t.Skip and t.Fatal when a dependency is missing.
func Required(what string) bool {
	for _, w := range strings.Split(os.Getenv(EnvRequire), ",") {
		w = strings.TrimSpace(w)
		if strings.EqualFold(w, what) || strings.EqualFold(w, "all") {
			return true
		}
	}
	return false
}

// Unavailable ends the test because what is not available: t.Fatal when
// Required(what), t.Skip otherwise. msg says what is missing.
func Unavailable(t testing.TB, what, msg string) {
	t.Helper()
	if Required(what) {
		t.Fatalf("%s (required by %s=%s)", msg, EnvRequire, os.Getenv(EnvRequire))
	}
	t.Skip(msg)
}

// server is the process-wide PostgreSQL.
type server struct {
	adminDSN string  // a DSN for the maintenance database
	admin    *sql.DB // pool on adminDSN
	external bool    // from BILLKEY_TEST_DATABASE_URL: never stopped

	// Only for a server we started.
	dir      string // temp dir: data/, the socket, the log
	pgCtl    string
	runAs    *syscall.Credential // nil: run as ourselves
	watchdog *os.Process
}

var (
	once     sync.Once
	srv      *server
	startErr error
	missing  bool
	createMu sync.Mutex // CREATE DATABASE one at a time (template1 is shared)
)

// DSN returns a connection string (URL form) for a new, empty database on
// the shared test server; the database is dropped when t ends. It skips or
// fails t when PostgreSQL is unavailable (see the package comment).
func DSN(t testing.TB) string {
	t.Helper()
	started(t)
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createMu.Lock()
	_, err := srv.admin.ExecContext(ctx, "CREATE DATABASE "+name)
	createMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := srv.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			// PostgreSQL < 13 has no FORCE.
			if _, err2 := srv.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err2 != nil {
				t.Logf("pgtest: drop database %s: %v", name, err)
			}
		}
	})
	dsn, err := withDatabase(srv.adminDSN, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// started starts the server on first use; it skips or fails t when
// PostgreSQL is unavailable.
func started(t testing.TB) {
	t.Helper()
	once.Do(func() { srv, startErr = start() })
	if missing {
		Unavailable(t, "postgres", missingMsg)
	}
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	if srv == nil {
		t.Fatal("pgtest: used after Stop")
	}
}

// Files are where the server DSN uses keeps its state on this machine.
type Files struct {
	DataDir string // the cluster's data directory (PGDATA): base/, global/, pg_wal/, …
	LogFile string // the server's log (postgres' stderr)
}

// ServerFiles returns the files of the server DSN's databases live on, for
// tests that look at what PostgreSQL wrote to disk: run CHECKPOINT (as the
// DSN's role, a superuser) first so that shared buffers reach the data
// files; the WAL in pg_wal has every change already. The directory holds
// every database of the test binary, not only t's. When the tests run as
// root the files belong to the postgres OS user, and root reads them.
//
// ok is false for a server from BILLKEY_TEST_DATABASE_URL, whose files are
// not ours to find. Like DSN, it skips or fails t when PostgreSQL is
// unavailable.
func ServerFiles(t testing.TB) (f Files, ok bool) {
	t.Helper()
	started(t)
	if srv.external {
		return Files{}, false
	}
	return Files{DataDir: srv.dataDir(), LogFile: srv.logFile()}, true
}

// Open returns a *sql.DB (driver "pgx") on a new database from DSN(t),
// closed when t ends.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open(DriverName, DSN(t))
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Main runs the tests and then stops the server, if one was started, and
// removes its directory. Use it as os.Exit(pgtest.Main(m)) in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the server started by DSN (pg_ctl stop -m immediate) and
// removes its directory. DSN must not be called afterwards. Main calls it.
func Stop() {
	if srv == nil {
		return
	}
	if srv.admin != nil {
		srv.admin.Close()
	}
	if srv.external {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := srv.command(ctx, srv.pgCtl, "stop", "-D", srv.dataDir(), "-m", "immediate", "-w", "-s").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: pg_ctl stop: %v\n%s", err, out)
	}
	if srv.watchdog != nil {
		syscall.Kill(-srv.watchdog.Pid, syscall.SIGKILL) // the shell and its sleep
		srv.watchdog.Wait()
	}
	os.RemoveAll(srv.dir)
	srv = nil
}

func start() (*server, error) {
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		s := &server{adminDSN: u, external: true}
		if err := s.connect(30 * time.Second); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDatabaseURL, err)
		}
		return s, nil
	}
	bin, err := findBinaries()
	if err != nil {
		missing = true
		return nil, err
	}
	s := &server{pgCtl: filepath.Join(bin, "pg_ctl")}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return nil, err
		}
		s.runAs = cred
	}
	if err := s.init(bin); err != nil {
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
		return nil, err
	}
	return s, nil
}

func (s *server) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *server) logFile() string { return filepath.Join(s.dir, "postgres.log") }

func (s *server) init(bin string) error {
	base := os.TempDir()
	if s.runAs != nil {
		// The postgres user must be able to reach the directory; a root
		// TMPDIR such as /root/tmp would not do.
		if fi, err := os.Stat("/tmp"); err == nil && fi.IsDir() {
			base = "/tmp"
		}
	}
	dir, err := os.MkdirTemp(base, "billkey-pgtest-")
	if err != nil {
		return err
	}
	s.dir = dir
	if s.runAs != nil {
		if err := os.Chown(dir, int(s.runAs.Uid), int(s.runAs.Gid)); err != nil {
			return fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := s.command(ctx, filepath.Join(bin, "initdb"), "-D", s.dataDir(), "-A", "trust", "-U", "postgres",
		"--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		logFile := s.logFile()
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off "+
			"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
		out, err := s.command(ctx, s.pgCtl, "start", "-D", s.dataDir(), "-l", logFile, "-w", "-t", "60", "-s", "-o", opts).CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile(logFile)
			lastErr = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, tail(log, 2000))
			if strings.Contains(string(log), "could not bind") || strings.Contains(string(log), "already in use") {
				continue // lost the race for the port
			}
			return lastErr
		}
		s.adminDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		s.startWatchdog()
		if err := s.connect(30 * time.Second); err != nil {
			return err
		}
		return nil
	}
	return lastErr
}

// connect opens the admin pool and waits (bounded) until the server answers.
func (s *server) connect(limit time.Duration) error {
	db, err := sql.Open(DriverName, s.adminDSN)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			s.admin = db
			return nil
		}
		if time.Now().After(deadline) {
			db.Close()
			return fmt.Errorf("server not ready after %v: %w", limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startWatchdog starts a shell that stops the server and removes its
// directory once this process is gone (killed, timed out, no Main).
func (s *server) startWatchdog() {
	script := fmt.Sprintf(`while [ -d /proc/%d ]; do sleep 1; done; %s stop -D %s -m immediate -s >/dev/null 2>&1; rm -rf %s`,
		os.Getpid(), shellQuote(s.pgCtl), shellQuote(s.dataDir()), shellQuote(s.dir))
	cmd := s.command(context.Background(), "/bin/sh", "-c", script)
	cmd.SysProcAttr.Setpgid = true // survive a ^C to the test's process group
	if err := cmd.Start(); err == nil {
		s.watchdog = cmd.Process
	}
}

// command runs name as the server's OS user, in the server directory, with
// stdin/stdout/stderr on /dev/null unless the caller collects output.
func (s *server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if s.runAs != nil {
		cmd.SysProcAttr.Credential = s.runAs
		cmd.Env = append(os.Environ(), "HOME="+s.dir, "USER=postgres", "LOGNAME=postgres")
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// postgresUser returns the credentials of the "postgres" OS user.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root, but there is no postgres OS user to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has a non-numeric uid/gid %q/%q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

var errNotFound = errors.New(missingMsg)

// findBinaries returns a directory holding initdb, pg_ctl and postgres: the
// one initdb resolves to through PATH, else the newest
// /usr/lib/postgresql/<version>/bin.
func findBinaries() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			fi, err := os.Stat(filepath.Join(dir, b))
			if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
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
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errNotFound
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var dbnameRE = regexp.MustCompile(`(^|\s)dbname\s*=\s*('(\\.|[^'])*'|\S+)`)

// withDatabase returns dsn (URL or key=value form) pointing at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDatabaseURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	if dbnameRE.MatchString(dsn) {
		return dbnameRE.ReplaceAllString(dsn, "${1}dbname="+name), nil
	}
	return strings.TrimSpace(dsn + " dbname=" + name), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
