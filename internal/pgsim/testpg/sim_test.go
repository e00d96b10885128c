package testpg_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"billkey/internal/clock"
	sim "billkey/internal/pgsim/testpg"
)

type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	base string
	s    *sim.Sim
}

// newFixture mounts the Sim under /pgsim/testpg the way billkey does.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, srv: srv, base: srv.URL + "/pgsim/testpg"}
	s, err := sim.New(sim.Config{DBPath: filepath.Join(t.TempDir(), "sim.db"), Clock: clock.NewTest(0), PublicURL: f.base, SlowMS: 300})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.s = s
	mux.Handle("/pgsim/testpg/", http.StripPrefix("/pgsim/testpg", s.Handler()))
	return f
}

// do sends a JSON request with the API header and decodes the JSON answer.
func (f *fixture) do(client *http.Client, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "TestPG test")
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			f.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode, m, nil
}

func (f *fixture) must(method, path string, body any, want int) map[string]any {
	f.t.Helper()
	st, m, err := f.do(nil, method, path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if st != want {
		f.t.Fatalf("%s %s: HTTP %d, want %d: %v", method, path, st, want, m)
	}
	return m
}

func (f *fixture) key(card string) string {
	f.t.Helper()
	m := f.must("POST", "/v1/keys", map[string]string{"card_number": card, "expiry": "2030-12", "customer_uid": "c"}, 200)
	return m["billing_key"].(string)
}

// await looks a charge up until the Sim has recorded it (bounded).
func (f *fixture) await(orderID string) map[string]any {
	f.t.Helper()
	for i := 0; i < 100; i++ {
		st, m, err := f.do(nil, "GET", "/v1/charges?order_id="+url.QueryEscape(orderID), nil)
		if err != nil {
			f.t.Fatal(err)
		}
		if st == http.StatusOK {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("charge %s never recorded", orderID)
	return nil
}

type entry struct {
	Kind, OrderID, TID, BillingKeyHash, Status string
	Amount                                     int64
}

func (f *fixture) ledger(orderID string) []entry {
	f.t.Helper()
	resp, err := http.Get(f.base + "/_sim/ledger?order_id=" + url.QueryEscape(orderID))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		f.t.Fatal(err)
	}
	var out []entry
	for _, m := range raw {
		out = append(out, entry{Kind: m["kind"].(string), OrderID: m["order_id"].(string), TID: m["tid"].(string),
			BillingKeyHash: m["billing_key_hash"].(string), Status: m["status"].(string), Amount: int64(m["amount"].(float64))})
	}
	return out
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	for _, h := range []string{"", "TestPG", "TestPG ", "Bearer x"} {
		req, _ := http.NewRequest("POST", f.base+"/v1/keys", strings.NewReader(`{"card_number":"4242424242424242"}`))
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: HTTP %d", h, resp.StatusCode)
		}
	}
}

func TestKeyWire(t *testing.T) {
	f := newFixture(t)
	m := f.must("POST", "/v1/keys", map[string]string{"card_number": "4242-4242-4242-4242", "expiry": "2030-12",
		"birth": "900101", "pwd_2digit": "00", "customer_uid": "c1"}, 200)
	for _, k := range []string{"billing_key", "card_name", "card_code", "card_number", "card_type"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %q in %v", k, m)
		}
	}
	if m["card_number"] != "4242-42**-****-4242" {
		t.Fatalf("mask: %v", m["card_number"])
	}
	m = f.must("POST", "/v1/keys", map[string]string{"card_number": "4000-0000-0000-0002"}, 402)
	if m["code"] != "F113" || !strings.Contains(m["message"].(string), "카드번호틀림") {
		t.Fatalf("decline: %v", m)
	}
	f.must("POST", "/v1/keys", "not an object", 400)
	f.must("DELETE", "/v1/keys/tpk_unknown", nil, 404)
}

func TestChargeWire(t *testing.T) {
	f := newFixture(t)
	key := f.key("4242424242424242")
	for _, bad := range []map[string]any{
		{"billing_key": key, "amount": 100},
		{"order_id": "o", "amount": 100},
		{"billing_key": key, "order_id": "o", "amount": 0},
		{"billing_key": key, "order_id": "o", "amount": 100, "tax_free": 101},
	} {
		f.must("POST", "/v1/charges", bad, 400)
	}
	m := f.must("POST", "/v1/charges", map[string]any{"billing_key": key, "order_id": "o1", "amount": 1000, "tax_free": 100, "name": "n"}, 200)
	if m["status"] != "paid" || m["tid"] == "" || m["paid_at"] == nil || m["card_number"] != "4242-42**-****-4242" {
		t.Fatalf("charge: %v", m)
	}
	found := f.must("GET", "/v1/charges?order_id=o1", nil, 200)
	if found["tid"] != m["tid"] || found["status"] != "paid" {
		t.Fatalf("lookup: %v", found)
	}
	f.must("GET", "/v1/charges/"+m["tid"].(string), nil, 200)
	if nf := f.must("GET", "/v1/charges?order_id=nope", nil, 404); nf["code"] != "CHARGE_NOT_FOUND" {
		t.Fatalf("not found: %v", nf)
	}
	d := f.must("POST", "/v1/charges", map[string]any{"billing_key": key, "order_id": "o2", "amount": 2013}, 402)
	if d["tid"] == "" || !strings.Contains(d["message"].(string), "13") {
		t.Fatalf("amount 13: %v", d)
	}
	c := f.must("POST", "/v1/charges/"+m["tid"].(string)+"/cancel", map[string]any{"amount": 400, "reason": "r"}, 200)
	if c["cancel_tid"] == "" || c["cancelled_at"] == nil || c["remaining"] != float64(600) {
		t.Fatalf("cancel: %v", c)
	}
	if o := f.must("POST", "/v1/charges/"+m["tid"].(string)+"/cancel", map[string]any{"amount": 601}, 409); o["code"] != "OVER_CANCEL" {
		t.Fatalf("over-cancel: %v", o)
	}
	// amount 0 cancels the rest.
	if c := f.must("POST", "/v1/charges/"+m["tid"].(string)+"/cancel", map[string]any{}, 200); c["amount"] != float64(600) || c["status"] != "cancelled" {
		t.Fatalf("cancel rest: %v", c)
	}
	for _, e := range append(f.ledger("o1"), f.ledger("o2")...) {
		if e.BillingKeyHash == "" || strings.Contains(e.BillingKeyHash, strings.TrimPrefix(key, "tpk_")) {
			t.Fatalf("ledger leaks or lacks the key hash: %+v", e)
		}
	}
	if l := f.ledger("o1"); len(l) != 3 || l[0].Kind != "charge" || l[1].Kind != "cancel" || l[2].Amount != 600 {
		t.Fatalf("ledger: %+v", l)
	}
	if l := f.ledger("o2"); len(l) != 1 || l[0].Status != "failed" {
		t.Fatalf("ledger: %+v", l)
	}
}

// A client that gives up on the slow card still finds its charge recorded.
func TestSlowCardRecordsBeforeAnswering(t *testing.T) {
	f := newFixture(t) // slow_ms 300
	key := f.key("4000-0000-0000-0259")
	impatient := &http.Client{Timeout: 100 * time.Millisecond}
	if _, _, err := f.do(impatient, "POST", "/v1/charges", map[string]any{"billing_key": key, "order_id": "slow", "amount": 700}); err == nil {
		t.Fatal("the slow card answered before the client timeout")
	}
	if m := f.await("slow"); m["status"] != "paid" {
		t.Fatalf("lookup: %v", m)
	}
}

func TestConfigDelay(t *testing.T) {
	f := newFixture(t)
	key := f.key("4242424242424242")
	m := f.must("PUT", "/_sim/config", map[string]any{"delay_ms": 999999}, 200)
	if m["delay_ms"] != float64(sim.MaxDelayMS) {
		t.Fatalf("unbounded delay: %v", m)
	}
	f.must("PUT", "/_sim/config", map[string]any{"delay_ms": 300}, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.base+"/v1/charges",
		strings.NewReader(`{"billing_key":"`+key+`","order_id":"d1","amount":100}`))
	req.Header.Set("Authorization", "TestPG test")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the delayed charge answered before the client gave up")
	}
	f.must("PUT", "/_sim/config", map[string]any{"delay_ms": 0}, 200)
	if m := f.must("GET", "/_sim/config", nil, 200); m["delay_ms"] != float64(0) || m["slow_ms"] != float64(300) {
		t.Fatalf("config: %v", m)
	}
	// Recorded before the delay; the retry returns the same charge at once.
	f.await("d1")
	if l := f.ledger("d1"); len(l) != 1 || l[0].Status != "paid" {
		t.Fatalf("ledger: %+v", l)
	}
	f.must("POST", "/v1/charges", map[string]any{"billing_key": key, "order_id": "d1", "amount": 100}, 200)
	if l := f.ledger("d1"); len(l) != 1 {
		t.Fatalf("charged twice: %+v", l)
	}
}

func TestWindowPage(t *testing.T) {
	f := newFixture(t)
	w := f.must("POST", "/v1/windows", map[string]any{"order_id": "imp_p", "customer_uid": "c", "amount": 12345,
		"name": "<프리미엄> 구독", "return_url": "http://merchant.test/ret", "cancel_url": "http://merchant.test/cancel",
		"fail_url": "http://merchant.test/fail"}, 200)
	pageURL := w["url"].(string)
	if !strings.HasPrefix(pageURL, f.base+"/window/") {
		t.Fatalf("url %q", pageURL)
	}
	f.must("POST", "/v1/windows", map[string]any{"order_id": "x", "return_url": "/relative"}, 400)

	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`id="tp-card"`, `id="tp-approve"`, `id="tp-cancel"`, `id="tp-fail"`, "12,345",
		"&lt;프리미엄&gt; 구독", "4242-4242-4242-4242", "4000-0000-0000-0002", "4000-0000-0000-0341", "4000-0000-0000-9995",
		"4000-0000-0000-9987", "4000-0000-0000-0119", "4000-0000-0000-0259"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{`src="http`, `href="http`, "<script"} {
		if strings.Contains(page, bad) {
			t.Errorf("page has %q", bad)
		}
	}

	// The form: approve with a card, redirected to return_url with a token.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.PostForm(pageURL, url.Values{"action": {"approve"}, "card": {"4000-0000-0000-9995"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/ret" || loc.Query().Get("token") == "" ||
		loc.Query().Get("window_id") != w["window_id"] {
		t.Fatalf("approve: HTTP %d to %v", resp.StatusCode, loc)
	}
	k := f.must("POST", "/v1/windows/"+w["window_id"].(string)+"/complete", map[string]string{"token": loc.Query().Get("token")}, 200)
	if k["card_number"] != "4000-00**-****-9995" || !strings.HasPrefix(k["billing_key"].(string), "tpk_") {
		t.Fatalf("complete: %v", k)
	}
	f.must("POST", "/v1/windows/"+w["window_id"].(string)+"/complete", map[string]string{"token": loc.Query().Get("token")}, 409)
	if l := f.ledger(""); len(l) != 0 {
		t.Fatalf("window issuance charged: %+v", l)
	}
	// The page of a used window says so.
	resp, err = http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("used window page: HTTP %d", resp.StatusCode)
	}
	resp, err = http.Get(f.base + "/window/tpw_nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown window page: HTTP %d", resp.StatusCode)
	}
}

func TestBuyerErrors(t *testing.T) {
	f := newFixture(t)
	w := f.must("POST", "/v1/windows", map[string]any{"order_id": "imp_b", "return_url": "http://merchant.test/ret"}, 200)
	id := w["window_id"].(string)
	post := func(id, body string) int {
		resp, err := http.Post(f.base+"/_sim/buyer/"+id, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("tpw_nope", `{"action":"approve"}`); st != 404 {
		t.Fatalf("unknown window: %d", st)
	}
	if st := post(id, `{"action":"dance"}`); st != 400 {
		t.Fatalf("bad action: %d", st)
	}
	if st := post(id, `{"action":"approve","card":"xx"}`); st != 400 {
		t.Fatalf("bad card: %d", st)
	}
	// Without cancel_url/fail_url the buyer goes back to return_url.
	resp, err := http.Post(f.base+"/_sim/buyer/"+id, "application/json", strings.NewReader(`{"action":"cancel"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		RedirectURL string `json:"redirect_url"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if !strings.HasPrefix(out.RedirectURL, "http://merchant.test/ret?") || strings.Contains(out.RedirectURL, "token=") {
		t.Fatalf("cancel redirect: %q", out.RedirectURL)
	}
	if st := post(id, `{"action":"approve"}`); st != 409 {
		t.Fatalf("used window: %d", st)
	}
}
