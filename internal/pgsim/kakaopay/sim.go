// Package kakaopay is billkey's test-mode emulator of the Kakao Pay Online
// Payment API (open-api.kakaopay.com, /online/v1/payment/...). It answers the
// same endpoints with the same fields, error codes and error envelopes as the
// real service, serves a hosted approval page in place of Kakao's payment
// window, and adds its own endpoints under /_sim/ (buyer step, ledger, per-CID
// settings). Its state lives in its own SQLite file and survives restarts.
//
// See docs/pg-kakaopay.md for what it reproduces and its test triggers.
package kakaopay

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"billkey/internal/clock"
)

// DefaultMonthlyLimit is how many subscription charges one SID may make per
// calendar month (KST) unless the CID is configured otherwise. Kakao's real
// number is contractual and not public; this is the emulator's choice.
const DefaultMonthlyLimit = 30

// ReadyTTL is how long a ready TID can be approved (Kakao: 15 minutes, -723).
const ReadyTTL = 15 * time.Minute

// Config configures a Sim.
type Config struct {
	DBPath    string      // SQLite file for its state; state survives restarts
	Clock     clock.Clock // time source (ready expiry, monthly limit); nil = system clock
	PublicURL string      // absolute URL where Handler is mounted; used for next_redirect_*_url
	SecretKey string      // accepted secret; empty = accept any non-empty SECRET_KEY
}

// Sim is the emulator. Safe for concurrent use.
type Sim struct {
	cfg   Config
	clock clock.Clock
	db    *sql.DB
	mu    sync.Mutex // serialises state changes (read-check-write)
	mux   *http.ServeMux
}

// New opens (or creates) the emulator's database and builds its handler.
func New(cfg Config) (*Sim, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("pgsim/kakaopay: Config.DBPath is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	db, err := openDB(cfg.DBPath)
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, clock: cfg.Clock, db: db, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// Handler serves the emulator; paths are relative to its mount point.
func (s *Sim) Handler() http.Handler { return s.mux }

// Close closes the database.
func (s *Sim) Close() error { return s.db.Close() }

func (s *Sim) routes() {
	api := map[string]func(context.Context, *http.Request) (any, *apiError){
		"ready":                        s.ready,
		"approve":                      s.approve,
		"subscription":                 s.subscription,
		"cancel":                       s.cancel,
		"order":                        s.order,
		"manage/subscription/status":   s.sidStatus,
		"manage/subscription/inactive": s.inactive,
	}
	for name, h := range api {
		s.mux.Handle("POST /online/v1/payment/"+name, s.apiHandler(h))
	}
	s.mux.HandleFunc("GET /_sim/pay/{tid}/{kind}", s.page)
	s.mux.HandleFunc("POST /_sim/pay/{tid}", s.pageSubmit)
	s.mux.HandleFunc("POST /_sim/buyer/{tid}", s.buyer)
	s.mux.HandleFunc("GET /_sim/ledger", s.ledger)
	s.mux.HandleFunc("GET /_sim/cids/{cid}", s.getCID)
	s.mux.HandleFunc("PUT /_sim/cids/{cid}", s.putCID)
}

// apiHandler checks the Authorization header, runs h under the state lock and
// writes its result or Kakao's error envelope.
func (s *Sim) apiHandler(h func(context.Context, *http.Request) (any, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			writeErr(w, errUnauthorized())
			return
		}
		s.mu.Lock()
		v, e := h(r.Context(), r)
		s.mu.Unlock()
		if e != nil {
			writeErr(w, e)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func (s *Sim) authorized(h string) bool {
	key, ok := strings.CutPrefix(h, "SECRET_KEY ")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return false
	}
	return s.cfg.SecretKey == "" || key == s.cfg.SecretKey
}

// inTx runs f in one transaction.
func (s *Sim) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func internalErr(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: "internal error: " + err.Error()}
}

// isOneTimeCID: TC0ONETIME is Kakao's one-time test CID; every other CID is
// treated as a subscription CID unless configured via PUT /_sim/cids/{cid}.
func isOneTimeCID(cid string) bool { return cid == "TC0ONETIME" }

// monthStart is the first instant of now's calendar month in KST.
func monthStart(now time.Time) time.Time {
	k := now.In(kst)
	return time.Date(k.Year(), k.Month(), 1, 0, 0, 0, 0, kst)
}
