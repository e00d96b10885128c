package testpg_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"billkey/internal/clock"
	"billkey/internal/pg"
	"billkey/internal/pg/testpg"
	sim "billkey/internal/pgsim/testpg"
)

const (
	cardOK          = "4242-4242-4242-4242"
	cardIssueFail   = "4000-0000-0000-0002"
	cardInsufficent = "4000-0000-0000-0341"
	cardOverLimit   = "4000-0000-0000-9995"
	cardSuspended   = "4000-0000-0000-9987"
	cardPGError     = "4000-0000-0000-0119"
	cardSlow        = "4000-0000-0000-0259"
)

type env struct {
	t      *testing.T
	dbPath string
	srv    *httptest.Server
	sim    *sim.Sim
	ch     pg.Channel
	c      *testpg.Connector
	slowMS int
}

// newEnv mounts a Sim under /pgsim/testpg the way billkey does.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "testpg.db"), slowMS: 300}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	mux.HandleFunc("/pgsim/testpg/", func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/pgsim/testpg", e.sim.Handler()).ServeHTTP(w, r)
	})
	e.start()
	t.Cleanup(func() { e.sim.Close() })
	e.ch = pg.Channel{Provider: "testpg", MID: "billkey", BaseURL: e.srv.URL + "/pgsim/testpg",
		Credentials: map[string]string{"secret": "test"}}
	e.c = testpg.New(nil)
	return e
}

// start opens the Sim on the env's database file.
func (e *env) start() {
	e.t.Helper()
	s, err := sim.New(sim.Config{DBPath: e.dbPath, Clock: clock.NewTest(0), PublicURL: e.srv.URL + "/pgsim/testpg", SlowMS: e.slowMS})
	if err != nil {
		e.t.Fatal(err)
	}
	e.sim = s
}

// restart closes the Sim and opens a new one on the same file.
func (e *env) restart() {
	e.t.Helper()
	if err := e.sim.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.start()
}

func ctx() context.Context { return context.Background() }

func (e *env) keyIn(uid, card string) pg.IssueResult {
	e.t.Helper()
	res, err := e.c.IssueKeyIn(ctx(), e.ch, pg.KeyInRequest{CustomerUID: uid, CardNumber: card, Expiry: "2030-12",
		Birth: "900101", Pwd2Digit: "00"})
	if err != nil {
		e.t.Fatalf("issue %s: %v", card, err)
	}
	return res
}

func (e *env) issue(uid, card string) string {
	e.t.Helper()
	res := e.keyIn(uid, card)
	if res.Status != pg.StatusPaid || res.BillingKey == "" {
		e.t.Fatalf("issue %s: %+v", card, res)
	}
	return res.BillingKey
}

func (e *env) charge(key, orderID string, amount int64) (pg.ChargeResult, error) {
	return e.c.Charge(ctx(), e.ch, pg.ChargeRequest{ImpUID: orderID, MerchantUID: "m_" + orderID, BillingKey: key,
		Name: "정기구독", Amount: amount})
}

type ledgerEntry struct {
	Kind           string `json:"kind"`
	OrderID        string `json:"order_id"`
	TID            string `json:"tid"`
	BillingKeyHash string `json:"billing_key_hash"`
	Amount         int64  `json:"amount"`
	Status         string `json:"status"`
	CreatedAt      int64  `json:"created_at"`
}

func (e *env) ledger(orderID string) []ledgerEntry {
	e.t.Helper()
	u := e.ch.BaseURL + "/_sim/ledger"
	if orderID != "" {
		u += "?order_id=" + url.QueryEscape(orderID)
	}
	resp, err := http.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []ledgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("ledger: %v", err)
	}
	return out
}

// buyer runs the headless buyer step and returns the redirect URL.
func (e *env) buyer(windowID, action, card string) *url.URL {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"action": action, "card": card})
	resp, err := http.Post(e.ch.BaseURL+"/_sim/buyer/"+windowID, "application/json", strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RedirectURL string `json:"redirect_url"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		e.t.Fatalf("buyer %s: HTTP %d", action, resp.StatusCode)
	}
	u, err := url.Parse(out.RedirectURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func wantPGError(t *testing.T, err error, unknown bool) *pg.Error {
	t.Helper()
	var pe *pg.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want *pg.Error, got %T %v", err, err)
	}
	if pe.Unknown != unknown || pg.IsUnknown(err) != unknown {
		t.Fatalf("want Unknown=%v, got %+v", unknown, pe)
	}
	if pe.Provider != "testpg" {
		t.Fatalf("provider %q", pe.Provider)
	}
	return pe
}

func TestProvider(t *testing.T) {
	c := testpg.New(nil)
	if c.Provider() != "testpg" || !c.SupportsKeyIn() {
		t.Fatal(c.Provider(), c.SupportsKeyIn())
	}
}

func TestKeyInIssue(t *testing.T) {
	e := newEnv(t)
	res := e.keyIn("c1", cardOK)
	if res.Status != pg.StatusPaid || !strings.HasPrefix(res.BillingKey, "tpk_") || len(res.BillingKey) != 28 {
		t.Fatalf("issue: %+v", res)
	}
	if res.Card.Number != "4242-42**-****-4242" || res.Card.Name == "" || res.Card.Code == "" || res.Card.Type == nil || res.Charged {
		t.Fatalf("card: %+v", res.Card)
	}
	// Any other well-formed number behaves like 4242.
	other := e.keyIn("c2", "5555 4444 3333 1111")
	if other.Status != pg.StatusPaid || other.Card.Number != "5555-44**-****-1111" {
		t.Fatalf("other card: %+v", other)
	}
	if r, err := e.charge(other.BillingKey, "imp_other", 1000); err != nil || r.Status != pg.StatusPaid {
		t.Fatalf("charge other: %+v %v", r, err)
	}
	// Issuance charges nothing.
	if n := len(e.ledger("")); n != 1 {
		t.Fatalf("ledger has %d entries, want 1", n)
	}
}

func TestKeyInDecline(t *testing.T) {
	e := newEnv(t)
	for _, card := range []string{cardIssueFail, "4242-4242", "abcd-4242-4242-4242"} {
		res := e.keyIn("c1", card)
		if res.Status != pg.StatusFailed || res.BillingKey != "" || res.FailCode == "" || !strings.Contains(res.FailReason, "F113") {
			t.Fatalf("%s: %+v", card, res)
		}
	}
	res, err := e.c.IssueKeyIn(ctx(), e.ch, pg.KeyInRequest{CustomerUID: "c1", CardNumber: cardOK, Expiry: "2001-01"})
	if err != nil || res.Status != pg.StatusFailed || res.FailReason == "" {
		t.Fatalf("expired: %+v %v", res, err)
	}
}

func TestChargeOK(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c1", cardOK)
	res, err := e.charge(key, "imp_1", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != pg.StatusPaid || !strings.HasPrefix(res.PGTID, "tpt_") || res.PaidAt.IsZero() || res.ApplyNum == "" ||
		res.Card.Number != "4242-42**-****-4242" || res.Card.Name == "" || res.PayMethod != "card" {
		t.Fatalf("charge: %+v", res)
	}
	l := e.ledger("imp_1")
	if len(l) != 1 || l[0].Kind != "charge" || l[0].Status != "paid" || l[0].Amount != 1000 || l[0].TID != res.PGTID ||
		l[0].BillingKeyHash == "" || strings.Contains(l[0].BillingKeyHash, key) {
		t.Fatalf("ledger: %+v", l)
	}
}

func TestDeclineCards(t *testing.T) {
	e := newEnv(t)
	for i, tc := range []struct{ card, want string }{
		{cardInsufficent, "잔액부족"},
		{cardOverLimit, "한도초과"},
		{cardSuspended, "거래정지카드"},
		{cardOK, "amount ending in 13"}, // amount trigger, any card
	} {
		key := e.issue("c", tc.card)
		amount := int64(5000)
		if tc.card == cardOK {
			amount = 1013
		}
		order := "imp_d" + string(rune('0'+i))
		res, err := e.charge(key, order, amount)
		if err != nil {
			t.Fatalf("%s: %v", tc.card, err)
		}
		if res.Status != pg.StatusFailed || res.FailCode == "" || !strings.Contains(res.FailReason, tc.want) || !res.PaidAt.IsZero() {
			t.Fatalf("%s: %+v", tc.card, res)
		}
		l := e.ledger(order)
		if len(l) != 1 || l[0].Status != "failed" || l[0].Amount != amount {
			t.Fatalf("%s ledger: %+v", tc.card, l)
		}
		// The lookup agrees: found, failed.
		lr, err := e.c.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: order})
		if err != nil || !lr.Found || lr.Charge.Status != pg.StatusFailed || lr.Charge.FailReason != res.FailReason {
			t.Fatalf("%s lookup: %+v %v", tc.card, lr, err)
		}
	}
	// 0341 issues fine and its key can still be deleted; amount 1013 on a good
	// card does not spoil the next charge.
	key := e.issue("c", cardOK)
	if res, err := e.charge(key, "imp_after13", 1014); err != nil || res.Status != pg.StatusPaid {
		t.Fatalf("after 13: %+v %v", res, err)
	}
}

func TestPGErrorCard(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c", cardPGError)
	res, err := e.charge(key, "imp_500", 1000)
	if err == nil {
		t.Fatalf("want an error, got %+v", res)
	}
	wantPGError(t, err, true)
	if l := e.ledger("imp_500"); len(l) != 0 {
		t.Fatalf("a PG error recorded a charge: %+v", l)
	}
	lr, err := e.c.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_500"})
	if err != nil || lr.Found {
		t.Fatalf("lookup: %+v %v", lr, err)
	}
}

func TestSlowCardTimesOutThenLookupFindsPaid(t *testing.T) {
	e := newEnv(t) // slow_ms 300
	key := e.issue("c", cardSlow)
	impatient := testpg.New(&http.Client{Timeout: 100 * time.Millisecond})
	res, err := impatient.Charge(ctx(), e.ch, pg.ChargeRequest{ImpUID: "imp_slow", BillingKey: key, Amount: 4321})
	if err == nil {
		t.Fatalf("want a timeout, got %+v", res)
	}
	if pe := wantPGError(t, err, true); pe.Code != "TIMEOUT" {
		t.Fatalf("code %q", pe.Code)
	}
	// The Sim may still be recording when the client gives up: look up a few times.
	var lr pg.LookupResult
	for i := 0; i < 100; i++ {
		if lr, err = e.c.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_slow", Amount: 4321}); err != nil || lr.Found {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || !lr.Found || lr.Charge.Status != pg.StatusPaid || lr.Charge.PGTID == "" || lr.Charge.PaidAt.IsZero() {
		t.Fatalf("lookup: %+v %v", lr, err)
	}
	if l := e.ledger("imp_slow"); len(l) != 1 || l[0].Status != "paid" || l[0].Amount != 4321 {
		t.Fatalf("ledger: %+v", l)
	}
	// A patient retry with the same order id gets the same charge, not a second one.
	again, err := e.charge(key, "imp_slow", 4321)
	if err != nil || again.Status != pg.StatusPaid || again.PGTID != lr.Charge.PGTID {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if l := e.ledger("imp_slow"); len(l) != 1 {
		t.Fatalf("charged twice: %+v", l)
	}
}

func TestIdempotentOrderID(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c", cardOK)
	first, err := e.charge(key, "imp_same", 1000)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.charge(key, "imp_same", 1000)
	if err != nil || second.PGTID != first.PGTID || second.Status != pg.StatusPaid {
		t.Fatalf("second: %+v %v", second, err)
	}
	// The same holds for a decline.
	poor := e.issue("p", cardInsufficent)
	d1, _ := e.charge(poor, "imp_poor", 1000)
	d2, _ := e.charge(poor, "imp_poor", 1000)
	if d1.Status != pg.StatusFailed || d2.Status != pg.StatusFailed || d1.PGTID != d2.PGTID || d1.PGTID == "" {
		t.Fatalf("declines: %+v %+v", d1, d2)
	}
	if n := len(e.ledger("")); n != 2 {
		t.Fatalf("ledger has %d entries, want 2", n)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c", cardOK)
	ch, err := e.charge(key, "imp_c", 10000)
	if err != nil {
		t.Fatal(err)
	}
	cancel := func(amount int64) (pg.CancelResult, error) {
		return e.c.Cancel(ctx(), e.ch, pg.CancelRequest{ImpUID: "imp_c", PGTID: ch.PGTID, Amount: amount, Reason: "test",
			TotalAmount: 10000})
	}
	c1, err := cancel(3000)
	if err != nil || !strings.HasPrefix(c1.PGTID, "tpc_") || c1.CancelledAt.IsZero() {
		t.Fatalf("partial: %+v %v", c1, err)
	}
	_, err = cancel(7001)
	if pe := wantPGError(t, err, false); pe.Code != "OVER_CANCEL" || pe.Message == "" {
		t.Fatalf("over-cancel: %+v", pe)
	}
	c2, err := cancel(7000)
	if err != nil || c2.PGTID == c1.PGTID {
		t.Fatalf("rest: %+v %v", c2, err)
	}
	_, err = cancel(1)
	wantPGError(t, err, false)
	_, err = e.c.Cancel(ctx(), e.ch, pg.CancelRequest{PGTID: "tpt_nope", Amount: 1})
	wantPGError(t, err, false)
	// A failed charge cannot be cancelled.
	poor := e.issue("p", cardInsufficent)
	f, _ := e.charge(poor, "imp_f", 100)
	_, err = e.c.Cancel(ctx(), e.ch, pg.CancelRequest{PGTID: f.PGTID, Amount: 100})
	wantPGError(t, err, false)

	var cancelled int64
	for _, l := range e.ledger("imp_c") {
		if l.Kind == "cancel" {
			cancelled += l.Amount
			if l.Status != "cancelled" || l.TID != ch.PGTID {
				t.Fatalf("cancel entry: %+v", l)
			}
		}
	}
	if cancelled != 10000 {
		t.Fatalf("ledger cancelled %d", cancelled)
	}
}

func TestDeleteKey(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c", cardOK)
	if err := e.c.DeleteKey(ctx(), e.ch, key); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteKey(ctx(), e.ch, key); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	res, err := e.charge(key, "imp_del", 1000)
	if err != nil || res.Status != pg.StatusFailed || !strings.Contains(res.FailReason, "삭제된 빌링키") {
		t.Fatalf("charge deleted key: %+v %v", res, err)
	}
	res, err = e.charge("tpk_000000000000000000000000", "imp_ghost", 1000)
	if err != nil || res.Status != pg.StatusFailed {
		t.Fatalf("charge unknown key: %+v %v", res, err)
	}
}

func TestWindowIssue(t *testing.T) {
	e := newEnv(t)
	start := func(imp string) pg.IssueStart {
		t.Helper()
		st, err := e.c.StartIssue(ctx(), e.ch, pg.IssueRequest{ImpUID: imp, CustomerUID: "cw", Name: "월간 구독", Amount: 9900,
			ReturnURL: "http://merchant.test/return?imp_uid=" + imp, CancelURL: "http://merchant.test/cancel", FailURL: "http://merchant.test/fail"})
		if err != nil {
			t.Fatal(err)
		}
		if st.PCURL == "" || st.PCURL != st.MobileURL || st.State["window_id"] == "" || !strings.HasPrefix(st.PCURL, e.ch.BaseURL+"/window/") {
			t.Fatalf("start: %+v", st)
		}
		return st
	}
	complete := func(imp string, st pg.IssueStart, u *url.URL) (pg.IssueResult, error) {
		return e.c.CompleteIssue(ctx(), e.ch, pg.IssueComplete{ImpUID: imp, CustomerUID: "cw", Amount: 9900, State: st.State, Params: u.Query()})
	}

	// Approve with a card whose charges decline: the key is issued.
	st := start("imp_w1")
	u := e.buyer(st.State["window_id"], "approve", cardInsufficent)
	if u.Host != "merchant.test" || u.Path != "/return" || u.Query().Get("imp_uid") != "imp_w1" || u.Query().Get("token") == "" ||
		u.Query().Get("window_id") != st.State["window_id"] {
		t.Fatalf("approve redirect: %s", u)
	}
	res, err := complete("imp_w1", st, u)
	if err != nil || res.Status != pg.StatusPaid || res.BillingKey == "" || res.Charged || res.Card.Number != "4000-00**-****-0341" {
		t.Fatalf("complete: %+v %v", res, err)
	}
	// Single use.
	_, err = complete("imp_w1", st, u)
	wantPGError(t, err, false)
	// The window charged nothing; the key's charges decline.
	if n := len(e.ledger("")); n != 0 {
		t.Fatalf("window issuance charged: %d", n)
	}
	if c, err := e.charge(res.BillingKey, "imp_w1c", 500); err != nil || c.Status != pg.StatusFailed {
		t.Fatalf("charge: %+v %v", c, err)
	}
	// The window cannot be used again.
	body := strings.NewReader(`{"action":"approve","card":"4242-4242-4242-4242"}`)
	resp, err := http.Post(e.ch.BaseURL+"/_sim/buyer/"+st.State["window_id"], "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("reused window: HTTP %d", resp.StatusCode)
	}

	// Approve with the issuance-decline card: failed result.
	st = start("imp_w2")
	res, err = complete("imp_w2", st, e.buyer(st.State["window_id"], "approve", cardIssueFail))
	if err != nil || res.Status != pg.StatusFailed || !strings.Contains(res.FailReason, "F113") {
		t.Fatalf("declined window: %+v %v", res, err)
	}

	// Cancel and fail go to their URLs without a token.
	st = start("imp_w3")
	u = e.buyer(st.State["window_id"], "cancel", "")
	if u.Path != "/cancel" || u.Query().Get("token") != "" {
		t.Fatalf("cancel redirect: %s", u)
	}
	if res, err = complete("imp_w3", st, u); err != nil || res.Status != pg.StatusFailed {
		t.Fatalf("cancelled window: %+v %v", res, err)
	}
	st = start("imp_w4")
	u = e.buyer(st.State["window_id"], "fail", "")
	if u.Path != "/fail" || u.Query().Get("token") != "" {
		t.Fatalf("fail redirect: %s", u)
	}
	if res, err = complete("imp_w4", st, u); err != nil || res.Status != pg.StatusFailed {
		t.Fatalf("failed window: %+v %v", res, err)
	}

	// A forged token is refused.
	st = start("imp_w5")
	u = e.buyer(st.State["window_id"], "approve", cardOK)
	q := u.Query()
	q.Set("token", "forged")
	_, err = e.c.CompleteIssue(ctx(), e.ch, pg.IssueComplete{State: st.State, Params: q})
	wantPGError(t, err, false)
	if res, err = complete("imp_w5", st, u); err != nil || res.Status != pg.StatusPaid {
		t.Fatalf("genuine token after a forged one: %+v %v", res, err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c", cardOK)
	paid, err := e.charge(key, "imp_r1", 2000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Cancel(ctx(), e.ch, pg.CancelRequest{PGTID: paid.PGTID, Amount: 500}); err != nil {
		t.Fatal(err)
	}
	deleted := e.issue("d", cardOK)
	if err := e.c.DeleteKey(ctx(), e.ch, deleted); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.StartIssue(ctx(), e.ch, pg.IssueRequest{ImpUID: "imp_rw", ReturnURL: "http://merchant.test/r"})
	if err != nil {
		t.Fatal(err)
	}
	u := e.buyer(st.State["window_id"], "approve", cardOK)
	before := e.ledger("")

	e.restart()

	if after := e.ledger(""); len(after) != len(before) || len(after) != 2 {
		t.Fatalf("ledger after restart: %+v, before %+v", after, before)
	}
	if res, err := e.charge(key, "imp_r2", 3000); err != nil || res.Status != pg.StatusPaid {
		t.Fatalf("key after restart: %+v %v", res, err)
	}
	if res, err := e.charge(deleted, "imp_r3", 3000); err != nil || res.Status != pg.StatusFailed {
		t.Fatalf("deleted key after restart: %+v %v", res, err)
	}
	if res, err := e.charge(key, "imp_r1", 2000); err != nil || res.PGTID != paid.PGTID {
		t.Fatalf("idempotency after restart: %+v %v", res, err)
	}
	// Over-cancel still counts the cancel made before the restart.
	_, err = e.c.Cancel(ctx(), e.ch, pg.CancelRequest{PGTID: paid.PGTID, Amount: 1501})
	wantPGError(t, err, false)
	if res, err := e.c.CompleteIssue(ctx(), e.ch, pg.IssueComplete{State: st.State, Params: u.Query()}); err != nil || res.Status != pg.StatusPaid {
		t.Fatalf("window after restart: %+v %v", res, err)
	}
}

func TestTransportErrors(t *testing.T) {
	// Connection refused: nothing was sent.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ch := pg.Channel{Provider: "testpg", BaseURL: "http://" + addr}
	_, err = testpg.New(nil).Charge(ctx(), ch, pg.ChargeRequest{ImpUID: "imp_x", BillingKey: "tpk_x", Amount: 100})
	if pe := wantPGError(t, err, false); pe.Code != "CONNECT" {
		t.Fatalf("code %q", pe.Code)
	}

	// Connection reset after the request was sent: unknown.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
		}
	}))
	defer srv.Close()
	ch.BaseURL = srv.URL
	_, err = testpg.New(nil).Charge(ctx(), ch, pg.ChargeRequest{ImpUID: "imp_x", BillingKey: "tpk_x", Amount: 100})
	wantPGError(t, err, true)

	// A bare 404 (wrong base URL) does not prove a charge absent.
	nf := httptest.NewServer(http.NotFoundHandler())
	defer nf.Close()
	ch.BaseURL = nf.URL
	_, err = testpg.New(nil).Lookup(ctx(), ch, pg.LookupRequest{ImpUID: "imp_x"})
	wantPGError(t, err, true)
}

func TestBadSecret(t *testing.T) {
	dir := t.TempDir()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, err := sim.New(sim.Config{DBPath: filepath.Join(dir, "s.db"), PublicURL: srv.URL, Secret: "sekrit"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mux.Handle("/", s.Handler())
	ch := pg.Channel{Provider: "testpg", BaseURL: srv.URL, Credentials: map[string]string{"secret": "wrong"}}
	_, err = testpg.New(nil).IssueKeyIn(ctx(), ch, pg.KeyInRequest{CardNumber: cardOK})
	if pe := wantPGError(t, err, false); pe.Code != "UNAUTHORIZED" {
		t.Fatalf("code %q", pe.Code)
	}
	ch.Credentials["secret"] = "sekrit"
	if res, err := testpg.New(nil).IssueKeyIn(ctx(), ch, pg.KeyInRequest{CardNumber: cardOK}); err != nil || res.Status != pg.StatusPaid {
		t.Fatalf("right secret: %+v %v", res, err)
	}
}

func TestConcurrentSameOrderChargesOnce(t *testing.T) {
	e := newEnv(t)
	key := e.issue("c", cardOK)
	const n = 8
	tids := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			res, err := e.charge(key, "imp_race", 1000)
			if err != nil {
				t.Error(err)
			}
			tids <- res.PGTID
		}()
	}
	first := <-tids
	for i := 1; i < n; i++ {
		if tid := <-tids; tid != first {
			t.Fatalf("two tids for one order: %s %s", first, tid)
		}
	}
	if l := e.ledger("imp_race"); len(l) != 1 {
		t.Fatalf("charged %d times", len(l))
	}
}
