package checkout_test

// Headless window flows through billkey's real checkout endpoints: the SDK
// frame's POST /checkout/start, the emulator's buyer step, and billkey's
// return URL (whose page posts the rsp to the merchant page).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/accounts"
	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
)

// windowTarget names the emulator and its window id from the URL
// /checkout/start sends the frame to.
func windowTarget(t *testing.T, target string) (provider, id string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	// pgsim/{provider}/…
	if len(parts) < 3 || parts[0] != "pgsim" {
		t.Fatalf("window URL not on an emulator: %s", target)
	}
	provider = parts[1]
	switch provider {
	case "kakaopay": // /pgsim/kakaopay/_sim/pay/{tid}/info
		if len(parts) < 5 || parts[2] != "_sim" || parts[3] != "pay" {
			t.Fatalf("kakao window URL: %s", target)
		}
		id = parts[4]
	default: // /pgsim/testpg/window/{id}, /pgsim/payco/easyLogin/{reserveOrderNo}
		id = parts[len(parts)-1]
	}
	return provider, id
}

// windowIssue runs one request_pay window headlessly, as the SDK's frame and
// the buyer would: start, the buyer's step on the emulator, then billkey's
// return URL. It returns the start response and the rsp the done page posts
// to the merchant page.
func windowIssue(t *testing.T, s *apptest.Server, code string, params map[string]any, buyer map[string]string) (startResp, string, map[string]any) {
	t.Helper()
	st, out := start(t, s, code, params, nil)
	if st != 200 || out.Rsp != nil || out.URL == "" || out.ImpUID == "" {
		t.Fatalf("start %v: %d %+v", params, st, out.Rsp)
	}
	provider, id := windowTarget(t, out.URL)
	b, _ := json.Marshal(buyer)
	resp, err := s.Client.Post(s.URL+"/pgsim/"+provider+"/_sim/buyer/"+url.PathEscape(id), "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var br struct {
		RedirectURL string `json:"redirect_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&br)
	resp.Body.Close()
	if err != nil || br.RedirectURL == "" || !strings.HasPrefix(br.RedirectURL, s.URL+"/checkout/r/") {
		t.Fatalf("%s buyer step: HTTP %d %v %q", provider, resp.StatusCode, err, br.RedirectURL)
	}
	resp, err = noFollow(s).Get(br.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("return URL: %d %s", resp.StatusCode, page)
	}
	return out, provider, doneMessage(t, page)
}

// doneMessage is the message billkey's done page posts to the merchant
// page: window.parent.postMessage(MSG, "http://shop.example").
func doneMessage(t *testing.T, page []byte) map[string]any {
	t.Helper()
	const open, end = "window.parent.postMessage(", `, "http://shop.example");`
	i := bytes.Index(page, []byte(open))
	j := bytes.Index(page, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("done page posts nothing to the merchant origin: %s", page)
	}
	var msg struct {
		From      string         `json:"from"`
		Action    string         `json:"action"`
		RequestID string         `json:"request_id"`
		Rsp       map[string]any `json:"rsp"`
	}
	if err := json.Unmarshal(page[i+len(open):j], &msg); err != nil {
		t.Fatalf("done message: %v\n%s", err, page)
	}
	if msg.From != "billkey" || msg.Action != "done" || msg.RequestID != "req_1" || msg.Rsp == nil {
		t.Fatalf("done message = %+v", msg)
	}
	return msg.Rsp
}

func getJSON(t *testing.T, m *apptest.Merchant, path string, v any) int {
	t.Helper()
	st, env := m.Do(t, "GET", path, nil)
	if st == 200 && env.Code == 0 {
		env.Into(t, v)
	}
	return st
}

type paymentRow struct {
	ImpUID      string  `json:"imp_uid"`
	Status      string  `json:"status"`
	Amount      int64   `json:"amount"`
	PayMethod   string  `json:"pay_method"`
	PGProvider  string  `json:"pg_provider"`
	PGID        string  `json:"pg_id"`
	CustomerUID *string `json:"customer_uid"`
	FailReason  *string `json:"fail_reason"`
	PaidAt      int64   `json:"paid_at"`
}

func againPay(t *testing.T, m *apptest.Merchant, uid, merchantUID string, amount int64) paymentRow {
	t.Helper()
	st, env := m.Do(t, "POST", "/subscribe/payments/again", map[string]any{"customer_uid": uid, "merchant_uid": merchantUID, "amount": amount})
	if st != 200 || env.Code != 0 {
		t.Fatalf("again %s: %d %s", uid, st, env.Raw)
	}
	var p paymentRow
	env.Into(t, &p)
	return p
}

// TestWindowDefaultChannel: request_pay without pg uses the merchant's
// default channel, and follows the default when it changes; pg with only a
// provider picks that provider's default channel.
func TestWindowDefaultChannel(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t) // kakaopay.TCSUBSCRIP (default), payco.AUTOPAY, testpg.billkey

	out, provider, rsp := windowIssue(t, s, m.Code, map[string]any{"merchant_uid": "d1", "amount": 0, "customer_uid": "c_default"},
		map[string]string{"action": "approve", "method": "CARD", "card": "normal"})
	if provider != "kakaopay" || rsp["success"] != true || str(rsp["pg_provider"]) != "kakaopay" || str(rsp["imp_uid"]) != out.ImpUID {
		t.Fatalf("pg omitted: window on %s, rsp %v", provider, rsp)
	}
	var p paymentRow
	if getJSON(t, m, "/payments/"+out.ImpUID, &p); p.PGProvider != "kakaopay" || p.PGID != "TCSUBSCRIP" || p.Status != "ready" {
		t.Fatalf("payment = %+v", p)
	}
	if p := againPay(t, m, "c_default", "d1_again", 1000); p.Status != "paid" || p.PGProvider != "kakaopay" {
		t.Fatalf("again = %+v", p)
	}

	// A second testpg channel made the default: pg omitted and pg 'testpg'
	// both go to it; 'testpg.billkey' still names the other one.
	ctx := context.Background()
	if _, err := s.App.Accounts.AddChannel(ctx, m.ID, accounts.ChannelSpec{Provider: "testpg", MID: "second", Default: true,
		Credentials: map[string]string{"secret": "test"}}); err != nil {
		t.Fatal(err)
	}
	for i, pgParam := range []any{nil, "testpg", "testpg.billkey", "kakaopay"} {
		params := map[string]any{"merchant_uid": "d2_" + string(rune('a'+i)), "amount": 0, "customer_uid": "c_second_" + string(rune('a'+i))}
		if pgParam != nil {
			params["pg"] = pgParam
		}
		st, out := start(t, s, m.Code, params, nil)
		if st != 200 || out.Rsp != nil {
			t.Fatalf("start pg=%v: %d %+v", pgParam, st, out.Rsp)
		}
		var p paymentRow
		getJSON(t, m, "/payments/"+out.ImpUID, &p)
		want := map[any]string{nil: "testpg.second", "testpg": "testpg.second", "testpg.billkey": "testpg.billkey", "kakaopay": "kakaopay.TCSUBSCRIP"}[pgParam]
		if got := p.PGProvider + "." + p.PGID; got != want {
			t.Errorf("pg=%v: channel %s, want %s", pgParam, got, want)
		}
	}
	// The new default issues and charges end to end.
	_, provider, rsp = windowIssue(t, s, m.Code, map[string]any{"merchant_uid": "d3", "amount": 0, "customer_uid": "c_new_default"},
		map[string]string{"action": "approve", "card": "4242-4242-4242-4242"})
	if provider != "testpg" || rsp["success"] != true {
		t.Fatalf("new default: %s %v", provider, rsp)
	}
	if p := againPay(t, m, "c_new_default", "d3_again", 1000); p.Status != "paid" || p.PGProvider != "testpg" || p.PGID != "second" {
		t.Fatalf("again on the new default = %+v", p)
	}
}

// TestWindowReissueReplacesKey: a window for a customer_uid that already has
// a key replaces it; later charges use the newest key (here told apart by
// PG and by test card).
func TestWindowReissueReplacesKey(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	const uid = "gildong_0001_1234"
	type customer struct {
		PGProvider string `json:"pg_provider"`
		PGID       string `json:"pg_id"`
	}
	issue := func(merchantUID, pgParam string, buyer map[string]string, wantProvider string) {
		t.Helper()
		_, _, rsp := windowIssue(t, s, m.Code, map[string]any{"pg": pgParam, "merchant_uid": merchantUID, "amount": 0, "customer_uid": uid}, buyer)
		if rsp["success"] != true || str(rsp["customer_uid"]) != uid {
			t.Fatalf("issue %s: %v", merchantUID, rsp)
		}
		var c customer
		if st := getJSON(t, m, "/subscribe/customers/"+uid, &c); st != 200 || c.PGProvider != wantProvider {
			t.Fatalf("customer after %s: %d %+v, want pg_provider %s", merchantUID, st, c, wantProvider)
		}
	}

	issue("i1", "kakaopay", map[string]string{"action": "approve", "method": "CARD", "card": "normal"}, "kakaopay")
	if p := againPay(t, m, uid, "a1", 1000); p.Status != "paid" || p.PGProvider != "kakaopay" {
		t.Fatalf("again on the first key = %+v", p)
	}
	// Re-registered on testpg with a card that declines every charge.
	issue("i2", "testpg", map[string]string{"action": "approve", "card": "4000-0000-0000-0341"}, "testpg")
	if p := againPay(t, m, uid, "a2", 1000); p.Status != "failed" || p.PGProvider != "testpg" || p.FailReason == nil || !strings.Contains(*p.FailReason, "F051") {
		t.Fatalf("again on the second key = %+v (want testpg's F051 decline)", p)
	}
	// And back to Kakao Pay, a normal card, Kakao Money this time.
	issue("i3", "kakaopay", map[string]string{"action": "approve", "method": "MONEY", "card": "normal"}, "kakaopay")
	if p := againPay(t, m, uid, "a3", 1000); p.Status != "paid" || p.PGProvider != "kakaopay" || p.PayMethod != "point" {
		t.Fatalf("again on the third key = %+v", p)
	}
	// A window that fails leaves the current key in place.
	_, _, rsp := windowIssue(t, s, m.Code, map[string]any{"pg": "payco", "merchant_uid": "i4", "amount": 0, "customer_uid": uid},
		map[string]string{"action": "register", "card": "decline"})
	if rsp["success"] != false {
		t.Fatalf("declined registration: %v", rsp)
	}
	if p := againPay(t, m, uid, "a4", 1000); p.Status != "paid" || p.PGProvider != "kakaopay" || p.PayMethod != "point" {
		t.Fatalf("again after a failed re-registration = %+v", p)
	}
}

// TestKakaoWindowWebhook: a Kakao Pay window with amount > 0 charges at
// issuance and sends the paid webhook; with amount 0 it only issues the key
// and sends none (the outbox row is written in the payment's transaction, so
// its absence is checked directly).
func TestKakaoWindowWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
	}))
	defer hook.Close()
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	ctx := context.Background()
	events := func(impUID string) []store.WebhookEvent {
		t.Helper()
		evs, _, err := s.App.Store.Read().WebhookEvents(ctx, store.WebhookFilter{MerchantID: m.ID, ImpUID: impUID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}

	zero, _, rsp := windowIssue(t, s, m.Code, map[string]any{"pg": "kakaopay", "merchant_uid": "k0", "amount": 0, "customer_uid": "c0",
		"notice_url": hook.URL + "/hook"}, map[string]string{"action": "approve", "method": "CARD", "card": "normal"})
	if rsp["success"] != true || str(rsp["status"]) != "ready" {
		t.Fatalf("amount 0: %v", rsp)
	}
	if evs := events(zero.ImpUID); len(evs) != 0 {
		t.Fatalf("amount 0 issuance queued webhooks: %+v", evs)
	}

	paid, _, rsp := windowIssue(t, s, m.Code, map[string]any{"pg": "kakaopay", "merchant_uid": "k1", "amount": 5900, "customer_uid": "c1",
		"notice_url": hook.URL + "/hook"}, map[string]string{"action": "approve", "method": "CARD", "card": "normal"})
	if rsp["success"] != true || str(rsp["status"]) != "paid" || rsp["paid_amount"] != 5900.0 {
		t.Fatalf("amount 5900: %v", rsp)
	}
	evs := events(paid.ImpUID)
	if len(evs) != 1 || evs[0].Status != "paid" || evs[0].MerchantUID != "k1" || evs[0].URL != hook.URL+"/hook" {
		t.Fatalf("amount > 0 webhooks: %+v", evs)
	}
	// Delivered (bounded wait) with i'mport's body.
	var bodies []map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		bodies = append([]map[string]any(nil), got...)
		mu.Unlock()
		if len(bodies) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(bodies) != 1 || bodies[0]["imp_uid"] != paid.ImpUID || bodies[0]["merchant_uid"] != "k1" || bodies[0]["status"] != "paid" {
		t.Fatalf("webhooks received: %v (want one paid for %s)", bodies, paid.ImpUID)
	}
	if evs := events(zero.ImpUID); len(evs) != 0 {
		t.Fatalf("amount 0 issuance has webhooks now: %+v", evs)
	}
}
