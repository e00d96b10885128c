// Package apptest runs a real billkey (the same app the binary runs) on a
// loopback port against SQLite or PostgreSQL, and talks to it over HTTP the
// way i'mport clients do.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/accounts"
	"billkey/internal/app"
	"billkey/internal/testutil/pgtest"
)

// Engines lists the storage engines every conformance test runs on.
var Engines = []string{"sqlite", "postgres"}

// Options tune a test server.
type Options struct {
	Engine      string // "sqlite" (default) or "postgres"
	DatabaseURL string // reuse a database (several nodes); default: a fresh one
	DataDir     string // default: t.TempDir()
	PGTimeout   time.Duration
	Failpoint   string
	Log         io.Writer // default: discarded unless -v
}

// Server is a running billkey.
type Server struct {
	App    *app.App
	URL    string
	Client *http.Client
	Logs   *SyncBuffer
	stop   context.CancelFunc
	done   chan error
}

// SyncBuffer is a goroutine-safe log sink the tests can scan.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DatabaseURL returns a fresh database target for an engine: a SQLite path
// in dir, or a new PostgreSQL database.
func DatabaseURL(t testing.TB, engine, dir string) string {
	if engine == "postgres" {
		return pgtest.DSN(t)
	}
	return dir + "/billkey.db"
}

// Start runs a billkey until t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Engine == "" {
		o.Engine = "sqlite"
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.DatabaseURL == "" {
		o.DatabaseURL = DatabaseURL(t, o.Engine, o.DataDir)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	cfg := app.Config{Addr: ln.Addr().String(), DataDir: o.DataDir, DatabaseURL: o.DatabaseURL, Mode: "test",
		PGTimeout: o.PGTimeout, ReconcileInterval: 200 * time.Millisecond, LogLevel: "debug", Failpoint: o.Failpoint}
	if cfg.PGTimeout == 0 {
		cfg.PGTimeout = 5 * time.Second
	}
	if strings.HasSuffix(o.DatabaseURL, "billkey.db") && !strings.Contains(o.DatabaseURL, "://") {
		cfg.DatabaseURL = ""
	}
	var w io.Writer = logs
	if o.Log != nil {
		w = io.MultiWriter(logs, o.Log)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		ln.Close()
		t.Fatalf("apptest: start billkey: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{App: a, URL: "http://" + ln.Addr().String(), Logs: logs, stop: cancel, done: make(chan error, 1),
		Client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down (idempotent).
func (s *Server) Stop() {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	<-s.done
	s.App.Close()
}

// Merchant is a test merchant with a token.
type Merchant struct {
	ID     int64
	Code   string
	Cred   accounts.Credentials
	Token  string
	server *Server
}

// NewMerchant creates a merchant with the demo test channels (kakaopay
// default, payco, testpg) and gets a token over HTTP.
func (s *Server) NewMerchant(t testing.TB) *Merchant {
	t.Helper()
	ctx := context.Background()
	m, cred, err := s.App.Accounts.CreateMerchant(ctx, "test merchant", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range app.DemoChannels {
		if _, err := s.App.Accounts.AddChannel(ctx, m.ID, spec); err != nil {
			t.Fatal(err)
		}
	}
	st, env := s.Do(t, "POST", "/users/getToken", "", map[string]any{"imp_key": cred.ImpKey, "imp_secret": cred.ImpSecret})
	if st != 200 || env.Code != 0 {
		t.Fatalf("getToken: %d %+v", st, env)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.Into(t, &tok)
	return &Merchant{ID: m.ID, Code: m.Code, Cred: cred, Token: tok.AccessToken, server: s}
}

// Envelope is an i'mport response.
type Envelope struct {
	Code     int             `json:"code"`
	Message  *string         `json:"message"`
	Response json.RawMessage `json:"response"`
	Raw      []byte          `json:"-"`
}

// Msg returns the message or "".
func (e Envelope) Msg() string {
	if e.Message == nil {
		return ""
	}
	return *e.Message
}

// Into decodes the response into v.
func (e Envelope) Into(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Response, v); err != nil {
		t.Fatalf("decode response %s: %v", e.Response, err)
	}
}

// Do sends a request: body is nil, url.Values (form), string (raw JSON) or
// anything else (JSON). token goes in Authorization when not "".
func (s *Server) Do(t testing.TB, method, path, token string, body any) (int, Envelope) {
	t.Helper()
	return s.DoHeaders(t, method, path, body, map[string]string{"Authorization": token})
}

// DoHeaders is Do with explicit headers ("" values are not sent).
func (s *Server) DoHeaders(t testing.TB, method, path string, body any, headers map[string]string) (int, Envelope) {
	t.Helper()
	st, env, err := CallHeaders(s.Client, method, s.URL+path, body, headers)
	if err != nil {
		t.Fatal(err)
	}
	return st, env
}

// Call is Do for goroutines and for servers that may be gone: it returns
// transport errors and non-envelope answers instead of failing the test.
// token "" sends no Authorization header.
func Call(c *http.Client, method, url, token string, body any) (int, Envelope, error) {
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return CallHeaders(c, method, url, body, h)
}

// CallHeaders is Call with explicit headers ("" values are not sent). A body
// is sent as a form (url.Values), as given (string, JSON) or as JSON.
func CallHeaders(c *http.Client, method, url string, body any, headers map[string]string) (int, Envelope, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case neturl.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, Envelope{}, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, Envelope{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return resp.StatusCode, env, fmt.Errorf("%s %s: HTTP %d, body is not an envelope: %q", method, url, resp.StatusCode, raw)
	}
	env.Raw = raw
	return resp.StatusCode, env, nil
}

// Do calls the API as this merchant.
func (m *Merchant) Do(t testing.TB, method, path string, body any) (int, Envelope) {
	t.Helper()
	return m.server.Do(t, method, path, m.Token, body)
}
