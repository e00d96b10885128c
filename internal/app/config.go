// Package app assembles billkey: configuration, storage, vault, PG
// connectors and emulators, the HTTP surfaces, and background workers.
package app

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// Config is billkey's configuration: flags, each with a BILLKEY_* variable.
type Config struct {
	Addr              string
	DataDir           string
	DatabaseURL       string
	Mode              string // "test" (emulators, test clock) or "live"
	PublicURL         string
	MasterKey         string // secret
	MasterKeyFile     string
	PGTimeout         time.Duration
	ReconcileInterval time.Duration
	LogLevel          string
	LogFormat         string
	Failpoint         string // test mode only
	Demo              bool   // create the demo merchant on first start (test mode)
}

// RegisterFlags binds the config to fs with BILLKEY_* environment defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	env := func(name, def string) string {
		if v, ok := os.LookupEnv("BILLKEY_" + name); ok {
			return v
		}
		return def
	}
	dur := func(name string, def time.Duration) time.Duration {
		if v, ok := os.LookupEnv("BILLKEY_" + name); ok {
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (BILLKEY_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", "data"), "data directory for the SQLite database, master key and emulator state (BILLKEY_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "postgres://… URL; empty = SQLite in the data directory (BILLKEY_DATABASE_URL)")
	fs.StringVar(&c.Mode, "mode", env("MODE", "test"), "test (built-in PG emulators, movable clock) or live (BILLKEY_MODE)")
	fs.StringVar(&c.PublicURL, "public-url", env("PUBLIC_URL", ""), "URL browsers and PG redirects reach billkey at; default http://ADDR (BILLKEY_PUBLIC_URL)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("MASTER_KEY_FILE", ""), "master keyring file; default DATA_DIR/master.key, created on first start (BILLKEY_MASTER_KEY_FILE)")
	fs.DurationVar(&c.PGTimeout, "pg-timeout", dur("PG_TIMEOUT", 30*time.Second), "timeout of one PG call (BILLKEY_PG_TIMEOUT)")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", dur("RECONCILE_INTERVAL", 10*time.Second), "how often in-flight payments are reconciled (BILLKEY_RECONCILE_INTERVAL)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (BILLKEY_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "text"), "text or json (BILLKEY_LOG_FORMAT)")
	fs.BoolVar(&c.Demo, "demo", env("DEMO", "true") == "true", "create a demo merchant on first start in test mode (BILLKEY_DEMO)")
	c.MasterKey = os.Getenv("BILLKEY_MASTER_KEY") // never a flag: it would show in ps
	c.Failpoint = os.Getenv("BILLKEY_FAILPOINT")
}

// Normalize fills defaults and checks values.
func (c *Config) Normalize() error {
	if c.Mode != "test" && c.Mode != "live" {
		return fmt.Errorf("mode must be test or live, not %q", c.Mode)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	if c.Mode != "test" {
		c.Failpoint = ""
	}
	if c.PGTimeout <= 0 {
		return fmt.Errorf("pg-timeout must be positive")
	}
	return nil
}

// DatabaseTarget is what store.Open is given.
func (c *Config) DatabaseTarget() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "billkey.db")
}

// Describe lists the configuration without secrets.
func (c *Config) Describe() []any {
	db := "sqlite:" + c.DatabaseTarget()
	if c.DatabaseURL != "" {
		db = redactURL(c.DatabaseURL)
	}
	mk := "file " + c.MasterKeyFile
	if c.MasterKey != "" {
		mk = "BILLKEY_MASTER_KEY (set)"
	}
	return []any{"addr", c.Addr, "mode", c.Mode, "public_url", c.PublicURL, "database", db, "data_dir", c.DataDir,
		"master_key", mk, "pg_timeout", c.PGTimeout.String(), "reconcile_interval", c.ReconcileInterval.String(),
		"log_level", c.LogLevel, "failpoint", c.Failpoint}
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":***" + u[at:]
	}
	return u
}

// gcPercent is the garbage collector's target when GOGC is not set: billkey's
// live heap is small (tens of MiB), so trading some memory for less GC work
// on the charge path is the right default for a server.
const gcPercent = 400

// TuneRuntime applies billkey's runtime defaults; every way of serving calls it.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
