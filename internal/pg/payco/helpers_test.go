package payco_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"billkey/internal/clock"
	"billkey/internal/pg"
	"billkey/internal/pg/payco"
	sim "billkey/internal/pgsim/payco"
)

const returnURL = "http://127.0.0.1:9/payments/payco/return?imp_uid=imps_x"

type env struct {
	t      *testing.T
	dbPath string
	clk    *clock.Test
	sim    *sim.Sim
	mux    *swapHandler
	srv    *httptest.Server
	conn   *payco.Connector
	ch     pg.Channel
}

// swapHandler lets a test restart the emulator behind the same URL.
type swapHandler struct{ h http.Handler }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "payco-sim.db"), clk: clock.NewTest(0), mux: &swapHandler{}}
	e.srv = httptest.NewServer(e.mux)
	t.Cleanup(e.srv.Close)
	e.startSim()
	e.conn = payco.New(e.srv.Client())
	e.ch = pg.Channel{
		Provider: "payco", MID: "AUTOPAY", BaseURL: e.srv.URL,
		Credentials: map[string]string{"seller_key": "AUTOPAY", "cp_id": "AUTOPAY_CP", "product_id": "PROD_AUTO"},
	}
	return e
}

func (e *env) startSim() {
	e.t.Helper()
	s, err := sim.New(sim.Config{DBPath: e.dbPath, Clock: e.clk, PublicURL: e.srv.URL})
	if err != nil {
		e.t.Fatalf("sim.New: %v", err)
	}
	e.sim = s
	e.mux.h = s.Handler()
	e.t.Cleanup(func() { _ = s.Close() })
}

func (e *env) restartSim() {
	e.t.Helper()
	if err := e.sim.Close(); err != nil {
		e.t.Fatalf("close sim: %v", err)
	}
	e.startSim()
}

func ctx() context.Context { return context.Background() }

func (e *env) start(impUID string, amount int64) pg.IssueStart {
	e.t.Helper()
	st, err := e.conn.StartIssue(ctx(), e.ch, pg.IssueRequest{
		ImpUID: impUID, MerchantUID: "m_" + impUID, CustomerUID: "cust_" + impUID, Name: "월간 구독",
		Amount: amount, ReturnURL: returnURL,
	})
	if err != nil {
		e.t.Fatalf("StartIssue: %v", err)
	}
	return st
}

// buyer runs the headless buyer step and returns the return URL's parameters.
func (e *env) buyer(simID, action, card string) (url.Values, int) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"action": action, "card": card})
	resp, err := http.Post(e.srv.URL+"/_sim/buyer/"+simID, "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("buyer: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		RedirectURL string `json:"redirect_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	if !strings.HasPrefix(out.RedirectURL, "http://127.0.0.1:9/payments/payco/return?") {
		e.t.Fatalf("redirect_url %q is not the returnUrl", out.RedirectURL)
	}
	u, err := url.Parse(out.RedirectURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query(), resp.StatusCode
}

func (e *env) complete(impUID string, st pg.IssueStart, params url.Values) pg.IssueResult {
	e.t.Helper()
	res, err := e.conn.CompleteIssue(ctx(), e.ch, pg.IssueComplete{ImpUID: impUID, State: st.State, Params: params})
	if err != nil {
		e.t.Fatalf("CompleteIssue: %v", err)
	}
	return res
}

// issue registers a key with the given test card.
func (e *env) issue(impUID, card string) pg.IssueResult {
	e.t.Helper()
	st := e.start(impUID, 0)
	params, code := e.buyer(st.State["sim_id"], "register", card)
	if code != http.StatusOK {
		e.t.Fatalf("buyer register: HTTP %d", code)
	}
	res := e.complete(impUID, st, params)
	if res.Status != pg.StatusPaid || res.BillingKey == "" {
		e.t.Fatalf("issue with %s: %+v", card, res)
	}
	return res
}

func (e *env) charge(impUID, key string, amount int64) pg.ChargeResult {
	e.t.Helper()
	res, err := e.conn.Charge(ctx(), e.ch, pg.ChargeRequest{ImpUID: impUID, MerchantUID: "m_" + impUID, BillingKey: key, Name: "월간 구독", Amount: amount})
	if err != nil {
		e.t.Fatalf("Charge: %v", err)
	}
	return res
}

type ledgerEntry struct {
	Kind          string `json:"kind"`
	OrderNo       string `json:"order_no"`
	PaycoOrderNo  string `json:"payco_order_no"`
	AutoPaymentNo string `json:"auto_payment_no"`
	Amount        int64  `json:"amount"`
	CreatedAt     int64  `json:"created_at"`
}

func (e *env) ledger(orderNo string) []ledgerEntry {
	e.t.Helper()
	u := e.srv.URL + "/_sim/ledger"
	if orderNo != "" {
		u += "?order_no=" + url.QueryEscape(orderNo)
	}
	resp, err := http.Get(u)
	if err != nil {
		e.t.Fatalf("ledger: %v", err)
	}
	defer resp.Body.Close()
	var out []ledgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("ledger decode: %v", err)
	}
	return out
}

func wantPGError(t *testing.T, err error, code string, unknown bool) {
	t.Helper()
	pe, ok := err.(*pg.Error)
	if !ok {
		t.Fatalf("want *pg.Error %s, got %T %v", code, err, err)
	}
	if (code != "" && pe.Code != code) || pe.Unknown != unknown || pg.IsUnknown(err) != unknown {
		t.Fatalf("want code %s unknown=%v, got %+v", code, unknown, pe)
	}
}
