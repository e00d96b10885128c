// Package payco is billkey's test-mode emulator of NHN PAYCO's merchant
// ("outseller") API for automatic payment (자동결제): the same paths, JSON
// fields, {code, message, result} envelope and result codes as the real
// service (see /work/shared/spec/payco.md), a hosted order-sheet page, and a
// few /_sim endpoints for headless tests. Its state lives in its own SQLite
// file, so it survives restarts.
package payco

import (
	"database/sql"
	"errors"
	"log"
	"net/http"
	"strings"
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
	// http://127.0.0.1:8080/pgsim/payco. It is used to build orderSheetUrl.
	PublicURL string
	// SellerKeys are accepted in addition to PAYCO's public test keys
	// (S0FSJE, DEMO, AUTOPAY). The single entry "*" accepts any non-empty key.
	SellerKeys []string
	// Logger receives one line per internal error (nil: the standard logger).
	// Secrets (autoPaymentNo, certify keys) are never logged.
	Logger *log.Logger
}

// reserveTTL is how long an autoPayment reserve can be registered (inferred:
// PAYCO documents no expiry; an order sheet left open longer is refused).
const reserveTTL = time.Hour

// publicTestSellerKeys are the shared alpha keys of payco.md §1.2.
var publicTestSellerKeys = []string{"S0FSJE", "DEMO", "AUTOPAY"}

// ipBlockedSellerKey triggers PAYCO's IP-whitelist refusal on every API call.
const ipBlockedSellerKey = "IPBLOCK"

// Sim is the PAYCO emulator.
type Sim struct {
	db        *sql.DB
	clk       clock.Clock
	publicURL string
	sellers   map[string]bool
	anySeller bool
	log       *log.Logger
	mux       *http.ServeMux
}

// New opens (or creates) the emulator's database and returns the emulator.
func New(cfg Config) (*Sim, error) {
	if cfg.PublicURL == "" {
		return nil, errors.New("pgsim/payco: Config.PublicURL is required")
	}
	db, err := openDB(cfg.DBPath)
	if err != nil {
		return nil, err
	}
	s := &Sim{
		db:        db,
		clk:       cfg.Clock,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		sellers:   map[string]bool{},
		log:       cfg.Logger,
	}
	if s.clk == nil {
		s.clk = clock.System{}
	}
	if s.log == nil {
		s.log = log.Default()
	}
	for _, k := range publicTestSellerKeys {
		s.sellers[k] = true
	}
	for _, k := range cfg.SellerKeys {
		if k == "*" {
			s.anySeller = true
		} else if k != "" {
			s.sellers[k] = true
		}
	}
	s.routes()
	return s, nil
}

// Close closes the database.
func (s *Sim) Close() error { return s.db.Close() }

// Handler serves the emulator; paths are relative to its mount point.
func (s *Sim) Handler() http.Handler { return s.mux }

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /outseller/autoPayment/reserve", s.handleReserve)
	m.HandleFunc("POST /outseller/autoPayment/info", s.handleInfo)
	m.HandleFunc("POST /outseller/autoPayment/payment", s.handlePayment)
	m.HandleFunc("POST /outseller/autoPayment/delete", s.handleDelete)
	m.HandleFunc("POST /outseller/order/cancel", s.handleCancel)
	m.HandleFunc("POST /outseller/payment/approval/getDetailForVerify", s.handleDetail)
	m.HandleFunc("GET /outseller/receipt/{orderNo}", s.handleReceipt)

	m.HandleFunc("GET /easyLogin/{no}", s.handleSheet)
	m.HandleFunc("GET /m/easyLogin/{no}", s.handleSheet)
	m.HandleFunc("POST /easyLogin/{no}/submit", s.handleSheetSubmit)
	m.HandleFunc("POST /m/easyLogin/{no}/submit", s.handleSheetSubmit)

	m.HandleFunc("POST /_sim/buyer/{no}", s.handleBuyer)
	m.HandleFunc("GET /_sim/ledger", s.handleLedger)
	s.mux = m
}

// checkSeller enforces the merchant credentials: a known sellerKey (and a
// cpId where the API requires one).
func (s *Sim) checkSeller(sellerKey string) *apiError {
	switch {
	case sellerKey == "":
		return failMsg(codeBadRequest, "sellerKey")
	case sellerKey == ipBlockedSellerKey:
		return fail(codeIPBlocked)
	case s.anySeller || s.sellers[sellerKey]:
		return nil
	}
	return fail(codeBadSeller)
}

// internal answers an unexpected emulator failure as HTTP 500 (the connector
// treats it as an unknown outcome, like a PAYCO outage).
func (s *Sim) internal(w http.ResponseWriter, where string, err error) {
	s.log.Printf("pgsim/payco: %s: %v", where, err)
	writeJSON(w, http.StatusInternalServerError, envelope{Code: 9000, Message: "internal error"})
}

func (s *Sim) now() time.Time { return s.clk.Now() }
