package kakaopay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/clock"
	"billkey/internal/pg"
	sim "billkey/internal/pgsim/kakaopay"
)

const (
	testCID    = "TCSUBSCRIP"
	testSecret = "DEVTESTSECRETKEY0001"
	mount      = "/pgsim/kakaopay"
)

type env struct {
	t      *testing.T
	srv    *httptest.Server
	clk    *clock.Test
	dbPath string
	mu     sync.Mutex
	sim    *sim.Sim
	conn   *Connector
	ch     pg.Channel
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewTest(0), dbPath: filepath.Join(t.TempDir(), "kp.db"), conn: New(nil)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		s := e.sim
		e.mu.Unlock()
		http.StripPrefix(mount, s.Handler()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.start()
	t.Cleanup(func() { e.sim.Close() })
	e.ch = pg.Channel{Provider: "kakaopay", MID: testCID, BaseURL: e.srv.URL + mount,
		Credentials: map[string]string{"secret_key": testSecret}}
	return e
}

func (e *env) start() {
	e.t.Helper()
	s, err := sim.New(sim.Config{DBPath: e.dbPath, Clock: e.clk, PublicURL: e.srv.URL + mount, SecretKey: testSecret})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.sim = s
	e.mu.Unlock()
}

func (e *env) restart() {
	e.t.Helper()
	if err := e.sim.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.start()
}

// raw sends a request to the emulator and decodes the JSON answer into out.
func (e *env) raw(method, path string, body, out any) int {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.srv.URL+mount+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "SECRET_KEY "+testSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

type ledgerEntry struct {
	TID, AID, CID, SID, Kind string
	PartnerOrderID           string `json:"partner_order_id"`
	PartnerUserID            string `json:"partner_user_id"`
	Amount                   int64
	PaymentMethod            string `json:"payment_method"`
}

func (e *env) ledger(orderID string) []ledgerEntry {
	e.t.Helper()
	var out []ledgerEntry
	e.raw(http.MethodGet, "/_sim/ledger?partner_order_id="+url.QueryEscape(orderID), nil, &out)
	return out
}

func (e *env) orderStatus(tid string) string {
	e.t.Helper()
	var out map[string]any
	e.raw(http.MethodPost, "/online/v1/payment/order", map[string]string{"cid": testCID, "tid": tid}, &out)
	s, _ := out["status"].(string)
	return s
}

func issueReq(impUID, customerUID string, amount int64) pg.IssueRequest {
	return pg.IssueRequest{ImpUID: impUID, MerchantUID: "m_" + impUID, CustomerUID: customerUID,
		Name: "월간 구독", Amount: amount, ReturnURL: "http://127.0.0.1:1/return",
		CancelURL: "http://127.0.0.1:1/cancel", FailURL: "http://127.0.0.1:1/fail"}
}

// buyer performs the headless buyer step and returns the redirect's query.
func (e *env) buyer(tid, action, method, card string) url.Values {
	e.t.Helper()
	var out struct {
		RedirectURL string `json:"redirect_url"`
		PgToken     string `json:"pg_token"`
	}
	st := e.raw(http.MethodPost, "/_sim/buyer/"+tid, map[string]string{"action": action, "method": method, "card": card}, &out)
	if st != 200 {
		e.t.Fatalf("buyer step: HTTP %d", st)
	}
	u, err := url.Parse(out.RedirectURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query()
}

func (e *env) complete(start pg.IssueStart, req pg.IssueRequest, params url.Values) pg.IssueResult {
	e.t.Helper()
	res, err := e.conn.CompleteIssue(context.Background(), e.ch, pg.IssueComplete{ImpUID: req.ImpUID,
		MerchantUID: req.MerchantUID, CustomerUID: req.CustomerUID, Amount: req.Amount, State: start.State, Params: params})
	if err != nil {
		e.t.Fatalf("CompleteIssue: %v", err)
	}
	return res
}

// issue runs the whole window flow and returns the result.
func (e *env) issue(impUID, customerUID string, amount int64, method, card string) (pg.IssueStart, pg.IssueResult) {
	e.t.Helper()
	req := issueReq(impUID, customerUID, amount)
	start, err := e.conn.StartIssue(context.Background(), e.ch, req)
	if err != nil {
		e.t.Fatalf("StartIssue: %v", err)
	}
	return start, e.complete(start, req, e.buyer(start.PGTID, "approve", method, card))
}

func (e *env) charge(key, impUID string, amount int64) pg.ChargeResult {
	e.t.Helper()
	res, err := e.conn.Charge(context.Background(), e.ch, pg.ChargeRequest{ImpUID: impUID, MerchantUID: "m_" + impUID,
		BillingKey: key, Name: "월간 구독 결제", Amount: amount})
	if err != nil {
		e.t.Fatalf("Charge: %v", err)
	}
	return res
}

func TestProviderAndStart(t *testing.T) {
	e := newEnv(t)
	if e.conn.Provider() != "kakaopay" || e.conn.SupportsKeyIn() {
		t.Fatal("provider/keyin")
	}
	start, err := e.conn.StartIssue(context.Background(), e.ch, issueReq("imp_start", "cust_1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(start.PCURL, e.ch.BaseURL+"/") || !strings.HasPrefix(start.MobileURL, e.ch.BaseURL+"/") {
		t.Errorf("window URLs %q %q", start.PCURL, start.MobileURL)
	}
	if start.PGTID == "" || start.State["tid"] != start.PGTID || start.State["partner_order_id"] != "imp_start" ||
		start.State["partner_user_id"] != "cust_1" {
		t.Errorf("start %+v", start)
	}
}

func TestIssueZeroAmount(t *testing.T) {
	e := newEnv(t)
	start, res := e.issue("imp_zero", "cust_zero", 0, "CARD", "normal")
	if res.Status != pg.StatusPaid || res.Charged || res.BillingKey == "" || res.PayMethod != "card" || res.PGTID != start.PGTID {
		t.Fatalf("result %+v", res)
	}
	if k, ok := unpackKey(res.BillingKey); !ok || k.UserID != "cust_zero" || k.Method != "CARD" || len(k.SID) != 20 {
		t.Errorf("billing key does not pack sid/user/method")
	}
	if res.PaidAt.IsZero() || res.Card.Name == "" {
		t.Errorf("paid_at/card missing: %+v", res)
	}
	if got := e.ledger("imp_zero"); len(got) != 0 {
		t.Errorf("0-won issuance charged: %+v", got)
	}
	if st := e.orderStatus(start.PGTID); st != "ISSUED_SID" {
		t.Errorf("order status %q, want ISSUED_SID", st)
	}
	// Lookup: an SID-only issuance is not a charge.
	lr, err := e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{ImpUID: "imp_zero", PGTID: start.PGTID})
	if err != nil || lr.Found {
		t.Errorf("lookup of ISSUED_SID: %+v %v", lr, err)
	}
}

func TestIssueWithAmountCardAndMoney(t *testing.T) {
	e := newEnv(t)
	_, res := e.issue("imp_card", "cust_c", 5900, "CARD", "normal")
	if res.Status != pg.StatusPaid || !res.Charged || res.PayMethod != "card" || res.ApplyNum == "" {
		t.Fatalf("card %+v", res)
	}
	if res.Card.Name != "신한카드" || res.Card.Code != "366" || res.Card.Type == nil || *res.Card.Type != 0 ||
		!strings.HasPrefix(res.Card.Number, "451842") {
		t.Errorf("card info %+v", res.Card)
	}
	if l := e.ledger("imp_card"); len(l) != 1 || l[0].Kind != "approve" || l[0].Amount != 5900 || l[0].PaymentMethod != "CARD" {
		t.Errorf("ledger %+v", l)
	}
	_, res = e.issue("imp_money", "cust_m", 3000, "MONEY", "normal")
	if res.Status != pg.StatusPaid || !res.Charged || res.PayMethod != "point" || res.Card.Name != "" {
		t.Fatalf("money %+v", res)
	}
	if k, _ := unpackKey(res.BillingKey); k.Method != "MONEY" {
		t.Errorf("key method %q", k.Method)
	}
	if time.Since(res.PaidAt) > time.Hour || time.Until(res.PaidAt) > time.Hour {
		t.Errorf("paid_at %v not parsed as KST", res.PaidAt)
	}
}

func TestCharge(t *testing.T) {
	e := newEnv(t)
	_, card := e.issue("imp_i1", "cust_1", 0, "CARD", "normal")
	res := e.charge(card.BillingKey, "imp_c1", 9900)
	if res.Status != pg.StatusPaid || res.PGTID == "" || res.PayMethod != "card" || res.ApplyNum == "" || res.PaidAt.IsZero() {
		t.Fatalf("charge %+v", res)
	}
	l := e.ledger("imp_c1")
	if len(l) != 1 || l[0].Kind != "subscription" || l[0].Amount != 9900 || l[0].TID != res.PGTID || l[0].PartnerUserID != "cust_1" {
		t.Fatalf("ledger %+v", l)
	}
	_, money := e.issue("imp_i2", "cust_2", 0, "MONEY", "normal")
	if res := e.charge(money.BillingKey, "imp_c2", 1000); res.Status != pg.StatusPaid || res.PayMethod != "point" {
		t.Errorf("money charge %+v", res)
	}
}

func TestIssueDecline(t *testing.T) {
	e := newEnv(t)
	_, res := e.issue("imp_decl", "cust_d", 1000, "CARD", "decline")
	if res.Status != pg.StatusFailed || res.FailCode != "-780" || res.BillingKey != "" ||
		!strings.Contains(res.FailReason, "approval failure!") || !strings.Contains(res.FailReason, "거절") {
		t.Fatalf("decline %+v", res)
	}
	if l := e.ledger("imp_decl"); len(l) != 0 {
		t.Errorf("declined issuance charged: %+v", l)
	}
}

func TestLaterDeclines(t *testing.T) {
	e := newEnv(t)
	for card, want := range map[string]string{"insufficient": "잔액이 부족", "suspended": "정지된 카드"} {
		_, iss := e.issue("imp_i_"+card, "cust_"+card, 0, "CARD", card)
		if iss.Status != pg.StatusPaid {
			t.Fatalf("%s: issuance %+v", card, iss)
		}
		res := e.charge(iss.BillingKey, "imp_c_"+card, 5000)
		if res.Status != pg.StatusFailed || res.FailCode != "-782" || res.PayMethod != "card" ||
			!strings.Contains(res.FailReason, "subscription failure!") || !strings.Contains(res.FailReason, want) {
			t.Errorf("%s: %+v", card, res)
		}
	}
}

func TestMonthlyLimit(t *testing.T) {
	e := newEnv(t)
	if st := e.raw(http.MethodPut, "/_sim/cids/"+testCID, map[string]int{"monthly_limit": 2}, nil); st != 200 {
		t.Fatalf("put cid %d", st)
	}
	_, iss := e.issue("imp_ml", "cust_ml", 0, "CARD", "normal")
	for i, id := range []string{"imp_ml1", "imp_ml2"} {
		if res := e.charge(iss.BillingKey, id, 1000); res.Status != pg.StatusPaid {
			t.Fatalf("charge %d: %+v", i, res)
		}
	}
	res := e.charge(iss.BillingKey, "imp_ml3", 1000)
	if res.Status != pg.StatusFailed || res.FailCode != "-752" {
		t.Fatalf("over limit: %+v", res)
	}
	e.clk.Advance(32 * 24 * time.Hour) // always lands in the next calendar month
	if res := e.charge(iss.BillingKey, "imp_ml4", 1000); res.Status != pg.StatusPaid {
		t.Fatalf("next month: %+v", res)
	}
}

func TestWrongPartnerUser(t *testing.T) {
	e := newEnv(t)
	_, iss := e.issue("imp_wu", "cust_right", 0, "CARD", "normal")
	k, _ := unpackKey(iss.BillingKey)
	k.UserID = "cust_wrong"
	res := e.charge(packKey(k), "imp_wu1", 1000)
	if res.Status != pg.StatusFailed || res.FailCode != "-753" {
		t.Fatalf("%+v", res)
	}
}

func TestDeleteKeyAndInactive(t *testing.T) {
	e := newEnv(t)
	_, iss := e.issue("imp_del", "cust_del", 0, "CARD", "normal")
	if err := e.conn.DeleteKey(context.Background(), e.ch, iss.BillingKey); err != nil {
		t.Fatal(err)
	}
	res := e.charge(iss.BillingKey, "imp_del1", 1000)
	if res.Status != pg.StatusFailed || res.FailCode != "-751" {
		t.Fatalf("charge inactive: %+v", res)
	}
	if err := e.conn.DeleteKey(context.Background(), e.ch, iss.BillingKey); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if err := e.conn.DeleteKey(context.Background(), e.ch, "not a key"); err == nil || pg.IsUnknown(err) {
		t.Errorf("bad key: %v", err)
	}
}

func TestReadyExpiry(t *testing.T) {
	e := newEnv(t)
	req := issueReq("imp_exp", "cust_exp", 0)
	start, err := e.conn.StartIssue(context.Background(), e.ch, req)
	if err != nil {
		t.Fatal(err)
	}
	params := e.buyer(start.PGTID, "approve", "CARD", "normal")
	e.clk.Advance(16 * time.Minute)
	res := e.complete(start, req, params)
	if res.Status != pg.StatusFailed || res.FailCode != "-723" {
		t.Fatalf("%+v", res)
	}
}

func TestDoubleApproveAndWrongToken(t *testing.T) {
	e := newEnv(t)
	req := issueReq("imp_dbl", "cust_dbl", 1000)
	start, err := e.conn.StartIssue(context.Background(), e.ch, req)
	if err != nil {
		t.Fatal(err)
	}
	params := e.buyer(start.PGTID, "approve", "CARD", "normal")
	res := e.complete(start, req, url.Values{"pg_token": {"0000000000aaaaaaaaaa"}})
	if res.Status != pg.StatusFailed || res.FailCode != "-708" {
		t.Fatalf("wrong token: %+v", res)
	}
	if res := e.complete(start, req, params); res.Status != pg.StatusPaid {
		t.Fatalf("right token: %+v", res)
	}
	res = e.complete(start, req, params)
	if res.Status != pg.StatusFailed || res.FailCode != "-702" {
		t.Fatalf("double approve: %+v", res)
	}
	if l := e.ledger("imp_dbl"); len(l) != 1 {
		t.Errorf("ledger %+v", l)
	}
}

func TestBuyerCancelAndFail(t *testing.T) {
	e := newEnv(t)
	for _, action := range []string{"cancel", "fail"} {
		req := issueReq("imp_"+action, "cust", 1000)
		start, err := e.conn.StartIssue(context.Background(), e.ch, req)
		if err != nil {
			t.Fatal(err)
		}
		params := e.buyer(start.PGTID, action, "", "")
		if res := e.complete(start, req, params); res.Status != pg.StatusFailed || res.FailCode != "PG_TOKEN_MISSING" {
			t.Errorf("%s: %+v", action, res)
		}
		lr, err := e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{PGTID: start.PGTID})
		if err != nil || !lr.Found || lr.Charge.Status != pg.StatusFailed {
			t.Errorf("%s lookup: %+v %v", action, lr, err)
		}
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	_, iss := e.issue("imp_ci", "cust_ci", 0, "CARD", "normal")
	ch := e.charge(iss.BillingKey, "imp_cc", 10000)
	cancel := func(amount, remaining int64) (pg.CancelResult, error) {
		return e.conn.Cancel(context.Background(), e.ch, pg.CancelRequest{ImpUID: "imp_cc", PGTID: ch.PGTID,
			Amount: amount, Remaining: remaining, TotalAmount: 10000, BillingKey: iss.BillingKey})
	}
	cr, err := cancel(3000, 10000)
	if err != nil || cr.PGTID == "" || cr.CancelledAt.IsZero() {
		t.Fatalf("partial: %+v %v", cr, err)
	}
	if st := e.orderStatus(ch.PGTID); st != "PART_CANCEL_PAYMENT" {
		t.Errorf("status %s", st)
	}
	var pe *pg.Error
	if _, err := cancel(8000, 0); !errors.As(err, &pe) || pe.Code != "-710" || pe.Unknown {
		t.Fatalf("over-cancel: %v", err)
	}
	if _, err := cancel(7000, 9000); !errors.As(err, &pe) || pe.Code != "-710" || pe.Unknown {
		t.Fatalf("stale remaining: %v", err)
	}
	if _, err := cancel(7000, 7000); err != nil {
		t.Fatalf("rest: %v", err)
	}
	if st := e.orderStatus(ch.PGTID); st != "CANCEL_PAYMENT" {
		t.Errorf("status %s", st)
	}
	if _, err := cancel(1, 0); !errors.As(err, &pe) || pe.Code != "-784" {
		t.Errorf("cancel after full cancel: %v", err)
	}
	l := e.ledger("imp_cc")
	if len(l) != 3 || l[1].Kind != "cancel" || l[1].Amount != 3000 || l[2].Amount != 7000 {
		t.Errorf("ledger %+v", l)
	}
	// A fully cancelled charge was still charged.
	lr, err := e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{ImpUID: "imp_cc", PGTID: ch.PGTID})
	if err != nil || !lr.Found || lr.Charge.Status != pg.StatusPaid {
		t.Errorf("lookup %+v %v", lr, err)
	}
}

func TestLookup(t *testing.T) {
	e := newEnv(t)
	_, iss := e.issue("imp_li", "cust_li", 0, "CARD", "normal")
	ch := e.charge(iss.BillingKey, "imp_lc", 4400)
	lr, err := e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{ImpUID: "imp_lc", PGTID: ch.PGTID})
	if err != nil || !lr.Found || lr.Charge.Status != pg.StatusPaid || lr.Charge.PGTID != ch.PGTID ||
		lr.Charge.PayMethod != "card" || lr.Charge.Card.Name == "" || lr.Charge.PaidAt.IsZero() {
		t.Fatalf("lookup %+v %v", lr, err)
	}
	if _, err := e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{ImpUID: "imp_lc"}); !errors.Is(err, pg.ErrLookupUnsupported) {
		t.Errorf("no tid: %v", err)
	}
	lr, err = e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{PGTID: "T0000000000000000000"})
	if err != nil || lr.Found {
		t.Errorf("unknown tid: %+v %v", lr, err)
	}
	// A ready the buyer never finished: not found.
	start, _ := e.conn.StartIssue(context.Background(), e.ch, issueReq("imp_open", "c", 100))
	if lr, err := e.conn.Lookup(context.Background(), e.ch, pg.LookupRequest{PGTID: start.PGTID}); err != nil || lr.Found {
		t.Errorf("open ready: %+v %v", lr, err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	e := newEnv(t)
	_, iss := e.issue("imp_rs", "cust_rs", 2000, "MONEY", "normal")
	e.restart()
	res := e.charge(iss.BillingKey, "imp_rs1", 3000)
	if res.Status != pg.StatusPaid || res.PayMethod != "point" {
		t.Fatalf("after restart: %+v", res)
	}
	if l := e.ledger("imp_rs"); len(l) != 1 || l[0].Amount != 2000 {
		t.Errorf("ledger lost: %+v", l)
	}
	if err := e.conn.DeleteKey(context.Background(), e.ch, iss.BillingKey); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if res := e.charge(iss.BillingKey, "imp_rs2", 3000); res.FailCode != "-751" {
		t.Errorf("inactive lost on restart: %+v", res)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, iss := e.issue("imp_err", "cust_err", 0, "CARD", "normal")
	var pe *pg.Error

	bad := e.ch
	bad.Credentials = map[string]string{"secret_key": "wrong"}
	if _, err := e.conn.Charge(ctx, bad, pg.ChargeRequest{ImpUID: "x", BillingKey: iss.BillingKey, Amount: 1}); !errors.As(err, &pe) || pe.Unknown || pe.Code != "-401" {
		t.Errorf("bad secret: %v", err)
	}

	fiveHundred := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error_code":-1,"error_message":"internal"}`))
	}))
	defer fiveHundred.Close()
	ch5 := e.ch
	ch5.BaseURL = fiveHundred.URL
	if _, err := e.conn.Charge(ctx, ch5, pg.ChargeRequest{ImpUID: "x", BillingKey: iss.BillingKey, Amount: 1}); !errors.As(err, &pe) || !pe.Unknown {
		t.Errorf("5xx: %v", err)
	}

	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer slow.Close()
	defer close(hang)
	chSlow := e.ch
	chSlow.BaseURL = slow.URL
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := e.conn.Charge(tctx, chSlow, pg.ChargeRequest{ImpUID: "x", BillingKey: iss.BillingKey, Amount: 1}); !errors.As(err, &pe) || !pe.Unknown || pe.Code != "TIMEOUT" {
		t.Errorf("timeout: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	chRefused := e.ch
	chRefused.BaseURL = "http://" + addr
	if _, err := e.conn.Charge(ctx, chRefused, pg.ChargeRequest{ImpUID: "x", BillingKey: iss.BillingKey, Amount: 1}); !errors.As(err, &pe) || pe.Unknown || pe.Code != "CONNECTION_REFUSED" {
		t.Errorf("refused: %v", err)
	}

	if _, err := e.conn.Charge(ctx, e.ch, pg.ChargeRequest{ImpUID: "x", BillingKey: "garbage", Amount: 1}); !errors.As(err, &pe) || pe.Unknown {
		t.Errorf("bad key: %v", err)
	}
	// Sim-side validation refusal at ready is a non-unknown error.
	if _, err := e.conn.StartIssue(ctx, e.ch, pg.IssueRequest{ImpUID: "imp_x", CustomerUID: "c", Amount: 100,
		ReturnURL: "not-a-url", CancelURL: "x", FailURL: "x"}); !errors.As(err, &pe) || pe.Unknown || pe.Code != "-2" {
		t.Errorf("ready validation: %v", err)
	}
}

func TestKeyAndErrorMessage(t *testing.T) {
	k := packKey(billingKey{SID: "S123", UserID: "u", Method: "MONEY"})
	got, ok := unpackKey(k)
	if !ok || got.SID != "S123" || got.UserID != "u" || got.Method != "MONEY" || got.V != keyVersion {
		t.Fatalf("round trip %+v", got)
	}
	var b errorBody
	_ = json.Unmarshal([]byte(`{"error_code":-780,"error_message":"approval failure!","extras":{"method_result_code":"USER_LOCKED","method_result_message":"진행중인 거래가 있습니다."}}`), &b)
	if m := b.message(); m != "approval failure! (USER_LOCKED 진행중인 거래가 있습니다.)" {
		t.Errorf("message %q", m)
	}
	if tm := parseTime("2019-05-21T11:18:32"); tm.UTC().Format(time.RFC3339) != "2019-05-21T02:18:32Z" {
		t.Errorf("parseTime %v", tm)
	}
}
