// Package testpg is billkey's own deterministic test PG: an API-type payment
// gateway that issues billing keys from card numbers (key-in) and through a
// hosted window, charges and cancels them, and answers by card number the way
// Stripe's test cards do (see cards.go). Its state lives in its own SQLite
// file, so it survives restarts; /_sim endpoints drive it headlessly and show
// its ledger.
//
// API (paths relative to the mount point, JSON bodies, header
// "Authorization: TestPG <secret>" on /v1):
//
//	POST   /v1/keys                     key-in issuance
//	DELETE /v1/keys/{billing_key}       delete a key
//	POST   /v1/windows                  open an issuance window
//	POST   /v1/windows/{id}/complete    issue the key chosen in the window
//	POST   /v1/charges                  charge a key (idempotent by order_id)
//	GET    /v1/charges?order_id=        look a charge up
//	GET    /v1/charges/{tid}            look a charge up by tid
//	POST   /v1/charges/{tid}/cancel     cancel part or all of a charge
//	GET    /window/{id}                 the buyer's page
//	POST   /_sim/buyer/{id}             headless buyer step
//	GET    /_sim/ledger[?order_id=]     every charge and cancel
//	GET|PUT /_sim/config                delay_ms, slow_ms
//
// Test cards (any other well-formed number behaves like 4242):
//
//	4242-4242-4242-4242  issues; charges succeed
//	4000-0000-0000-0002  declined at issuance: [F113] 거래거절 카드번호틀림
//	4000-0000-0000-0341  issues; charges declined: 잔액부족 (insufficient funds)
//	4000-0000-0000-9995  issues; charges declined: 한도초과 (over limit)
//	4000-0000-0000-9987  issues; charges declined: 거래정지카드 (card suspended)
//	4000-0000-0000-0119  issues; charges answer HTTP 500 and record nothing
//	4000-0000-0000-0259  issues; charges are recorded paid, then the answer
//	                     waits slow_ms (default 10 s) so the client times out
//
// Any charge whose amount ends in 13 (1013, 5013) is declined, whatever the
// card: 테스트 거절 (test decline: amount ending in 13). A charge of a deleted
// key is declined: 삭제된 빌링키. Declines answer HTTP 402 {code, message,
// tid} and are recorded (status failed), so a repeated order_id gets the same
// decline back.
package testpg

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"billkey/internal/clock"
)

// Config configures a Sim.
type Config struct {
	// DBPath is the SQLite file holding the emulator's state (created if missing).
	DBPath string
	// Clock is the time source (nil: the system clock).
	Clock clock.Clock
	// PublicURL is the absolute URL where Handler is mounted, e.g.
	// http://127.0.0.1:8080/pgsim/testpg. Window URLs are built from it.
	PublicURL string
	// Secret, when set, is the only API secret accepted; empty accepts any
	// non-empty secret.
	Secret string
	// SlowMS is how long the slow card (4000-0000-0000-0259) holds a charge
	// response after recording it (0: DefaultSlowMS). Bounded by MaxDelayMS.
	SlowMS int
	// Logger receives one line per internal error (nil: the standard logger).
	// Billing keys and card numbers are never logged.
	Logger *log.Logger
}

// DefaultSlowMS is the default delay of the slow card.
const DefaultSlowMS = 10000

// MaxDelayMS bounds every artificial delay.
const MaxDelayMS = 60000

// windowTTL is how long an issuance window stays usable.
const windowTTL = time.Hour

// Sim is the test PG.
type Sim struct {
	db        *sql.DB
	clk       clock.Clock
	publicURL string
	secret    string
	log       *log.Logger
	mux       *http.ServeMux

	delayMS atomic.Int64 // every charge response
	slowMS  atomic.Int64 // the slow card

	closeOnce sync.Once
	closed    chan struct{}
}

// New opens (or creates) the database and returns the test PG.
func New(cfg Config) (*Sim, error) {
	if cfg.PublicURL == "" {
		return nil, errors.New("pgsim/testpg: Config.PublicURL is required")
	}
	db, err := openDB(cfg.DBPath)
	if err != nil {
		return nil, err
	}
	s := &Sim{
		db:        db,
		clk:       cfg.Clock,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		secret:    cfg.Secret,
		log:       cfg.Logger,
		closed:    make(chan struct{}),
	}
	if s.clk == nil {
		s.clk = clock.System{}
	}
	if s.log == nil {
		s.log = log.Default()
	}
	slow := cfg.SlowMS
	if slow <= 0 {
		slow = DefaultSlowMS
	}
	s.slowMS.Store(int64(boundMS(slow)))
	s.routes()
	return s, nil
}

// Close ends pending delays and closes the database.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return s.db.Close()
}

// Handler serves the test PG; paths are relative to its mount point.
func (s *Sim) Handler() http.Handler { return s.mux }

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.Handle("POST /v1/keys", s.auth(s.handleIssueKey))
	m.Handle("DELETE /v1/keys/{key}", s.auth(s.handleDeleteKey))
	m.Handle("POST /v1/windows", s.auth(s.handleOpenWindow))
	m.Handle("POST /v1/windows/{id}/complete", s.auth(s.handleCompleteWindow))
	m.Handle("POST /v1/charges", s.auth(s.handleCharge))
	m.Handle("GET /v1/charges", s.auth(s.handleFindCharge))
	m.Handle("GET /v1/charges/{tid}", s.auth(s.handleFindCharge))
	m.Handle("POST /v1/charges/{tid}/cancel", s.auth(s.handleCancel))

	m.HandleFunc("GET /window/{id}", s.handleWindowPage)
	m.HandleFunc("POST /window/{id}", s.handleWindowSubmit)

	m.HandleFunc("POST /_sim/buyer/{id}", s.handleBuyer)
	m.HandleFunc("GET /_sim/ledger", s.handleLedger)
	m.HandleFunc("GET /_sim/config", s.handleConfig)
	m.HandleFunc("PUT /_sim/config", s.handleConfig)
	s.mux = m
}

// auth checks "Authorization: TestPG <secret>".
func (s *Sim) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, secret, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		secret = strings.TrimSpace(secret)
		switch {
		case !strings.EqualFold(scheme, "TestPG") || secret == "":
			writeErr(w, http.StatusUnauthorized, codeUnauthorized, "Authorization: TestPG <secret> 헤더가 필요합니다")
			return
		case s.secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) != 1:
			writeErr(w, http.StatusUnauthorized, codeUnauthorized, "잘못된 시크릿 (bad secret)")
			return
		}
		h(w, r)
	})
}

// internal answers an unexpected failure as HTTP 500 (an unknown outcome to
// the client).
func (s *Sim) internal(w http.ResponseWriter, where string, err error) {
	s.log.Printf("pgsim/testpg: %s: %v", where, err)
	writeErr(w, http.StatusInternalServerError, codeInternal, "internal error")
}

func (s *Sim) now() time.Time { return s.clk.Now() }

// sleep waits d of wall time, or less if ctx ends or the Sim closes. It
// reports whether the whole delay elapsed.
func (s *Sim) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

func boundMS(ms int) int {
	if ms < 0 {
		return 0
	}
	if ms > MaxDelayMS {
		return MaxDelayMS
	}
	return ms
}
