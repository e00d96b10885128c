package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"billkey/internal/billing"
	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
)

// windowURLs are billkey's return URLs as the checkout builds them; this
// test completes the window itself from the URL the PG sends the buyer to.
func windowURLs(base string) billing.WindowURLs {
	return func(code, imp string) (string, string, string) {
		p := base + "/checkout/" + code
		return p + "/return/" + imp, p + "/cancel/" + imp, p + "/fail/" + imp
	}
}

// buyer performs the buyer's step on an emulator headlessly and returns
// where the PG sent the browser.
func buyer(t *testing.T, s *apptest.Server, provider, id string, body map[string]string) *url.URL {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.URL+"/pgsim/"+provider+"/_sim/buyer/"+url.PathEscape(id), "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RedirectURL string `json:"redirect_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.RedirectURL == "" {
		t.Fatalf("%s buyer step: HTTP %d %v", provider, resp.StatusCode, err)
	}
	u, err := url.Parse(out.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// issueByWindow runs a window issuance end to end through the connector and
// the emulator, completing it as billkey's return handler would.
func issueByWindow(t *testing.T, s *apptest.Server, m *apptest.Merchant, in billing.WindowInput, buyerBody map[string]string) store.Payment {
	t.Helper()
	ctx := context.Background()
	merchant, err := s.App.Store.Read().MerchantByCode(ctx, m.Code)
	if err != nil {
		t.Fatal(err)
	}
	p, start, err := s.App.Billing.StartWindow(ctx, merchant, in, windowURLs(s.URL))
	if err != nil {
		t.Fatalf("start window: %v", err)
	}
	if p.Status != "ready" || start.PCURL == "" {
		t.Fatalf("start: %+v %+v", p, start)
	}
	id := start.PGTID
	if v := start.State["sim_id"]; v != "" {
		id = v
	}
	if v := start.State["window_id"]; v != "" {
		id = v
	}
	back := buyer(t, s, strings.SplitN(in.PG, ".", 2)[0], id, buyerBody)
	outcome := billing.WindowApproved
	switch {
	case strings.Contains(back.Path, "/cancel/"):
		outcome = billing.WindowCancelled
	case strings.Contains(back.Path, "/fail/"):
		outcome = billing.WindowFailed
	}
	done, err := s.App.Billing.CompleteWindow(ctx, m.ID, p.ImpUID, outcome, back.Query())
	if err != nil {
		t.Fatalf("complete window: %v", err)
	}
	return done
}

func TestWindowIssuanceThenAgain(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)

	// Kakao Pay, amount 0: the key only; the buyer pays with Kakao Money.
	p := issueByWindow(t, s, m, billing.WindowInput{PG: "kakaopay", MerchantUID: "issue_k0", Name: "정기결제 등록", Amount: 0, CustomerUID: "kakao_money"},
		map[string]string{"action": "approve", "method": "MONEY", "card": "normal"})
	if p.Status != "ready" || p.PaidAt != 0 || p.PayMethod != "point" || p.CustomerUIDUsage != "issue" {
		t.Fatalf("kakao amount 0 issuance: %+v", p)
	}
	// Kakao Pay, amount > 0: charged at issuance, by card.
	p = issueByWindow(t, s, m, billing.WindowInput{PG: "kakaopay.TCSUBSCRIP", MerchantUID: "issue_k1", Name: "1개월 구독권", Amount: 5900, CustomerUID: "kakao_card"},
		map[string]string{"action": "approve", "method": "CARD", "card": "normal"})
	if p.Status != "paid" || p.PaidAt == 0 || p.PayMethod != "card" || p.PGTID == "" {
		t.Fatalf("kakao amount>0 issuance: %+v", p)
	}
	// PAYCO: the amount is shown, never charged.
	p = issueByWindow(t, s, m, billing.WindowInput{PG: "payco", MerchantUID: "issue_p", Name: "PAYCO 등록", Amount: 9900, CustomerUID: "payco_card"},
		map[string]string{"action": "register", "card": "normal"})
	if p.Status != "ready" || p.PaidAt != 0 {
		t.Fatalf("payco issuance: %+v", p)
	}
	resp, err := http.Get(s.URL + "/pgsim/payco/_sim/ledger")
	if err != nil {
		t.Fatal(err)
	}
	var paycoLedger []map[string]any
	json.NewDecoder(resp.Body).Decode(&paycoLedger)
	resp.Body.Close()
	if len(paycoLedger) != 0 {
		t.Fatalf("PAYCO charged at registration: %v", paycoLedger)
	}

	// Each key is charged with /subscribe/payments/again over HTTP, pay_method as the buyer chose.
	for uid, want := range map[string]string{"kakao_money": "point", "kakao_card": "card", "payco_card": "card"} {
		st, env, pay := again(t, m, map[string]any{"customer_uid": uid, "merchant_uid": "again_" + uid, "amount": 3000})
		if st != 200 || env.Code != 0 || pay.Status != "paid" || pay.PayMethod != want {
			t.Errorf("again %s: %d %s (want pay_method %s)", uid, st, env.Raw, want)
		}
	}
	// A buyer who cancels in the window: failed, nothing stored.
	p = issueByWindow(t, s, m, billing.WindowInput{PG: "kakaopay", MerchantUID: "issue_cancel", Amount: 0, CustomerUID: "never"},
		map[string]string{"action": "cancel"})
	if p.Status != "failed" || p.FailReason == "" {
		t.Fatalf("cancelled window: %+v", p)
	}
	if st, _ := m.Do(t, "GET", "/subscribe/customers/never", nil); st != 404 {
		t.Fatalf("a cancelled window stored a key: %d", st)
	}
	// Decline at issuance.
	p = issueByWindow(t, s, m, billing.WindowInput{PG: "payco", MerchantUID: "issue_decline", Amount: 0, CustomerUID: "declined"},
		map[string]string{"action": "register", "card": "decline"})
	if p.Status != "failed" {
		t.Fatalf("declined registration: %+v", p)
	}
	// The failed merchant_uid may be tried again.
	p = issueByWindow(t, s, m, billing.WindowInput{PG: "payco", MerchantUID: "issue_decline", Amount: 0, CustomerUID: "declined"},
		map[string]string{"action": "register", "card": "normal"})
	if p.Status != "ready" || p.PaidAt != 0 {
		t.Fatalf("second try: %+v", p)
	}
	// PAYCO accepts card only.
	merchant, _ := s.App.Store.Read().MerchantByCode(context.Background(), m.Code)
	if _, _, err := s.App.Billing.StartWindow(context.Background(), merchant, billing.WindowInput{PG: "payco", PayMethod: "trans", MerchantUID: "x", CustomerUID: "y"}, windowURLs(s.URL)); billing.KindOf(err) != billing.KindRefused {
		t.Fatalf("payco trans: %v", err)
	}
}

func TestLaterDeclinesAndKakaoMonthlyLimit(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	issueByWindow(t, s, m, billing.WindowInput{PG: "kakaopay", MerchantUID: "i1", Amount: 0, CustomerUID: "k_poor"},
		map[string]string{"action": "approve", "method": "CARD", "card": "insufficient"})
	issueByWindow(t, s, m, billing.WindowInput{PG: "payco", MerchantUID: "i2", Amount: 0, CustomerUID: "p_suspended"},
		map[string]string{"action": "register", "card": "suspended"})
	// fail_reason is the PG's own code and message (the emulators' text:
	// Kakao's error_message plus the extras' method result, PAYCO's message).
	for uid, want := range map[string]string{
		"k_poor":      "[-782] subscription failure! (INSUFFICIENT_BALANCE 잔액이 부족합니다. (insufficient funds))",
		"p_suspended": "[3202] 거래정지된 카드입니다.",
	} {
		st, env, p := again(t, m, map[string]any{"customer_uid": uid, "merchant_uid": "d_" + uid, "amount": 1000})
		if st != 200 || env.Code != 0 || p.Status != "failed" || p.FailReason == nil || *p.FailReason != want || p.FailedAt == 0 {
			t.Errorf("later decline %s: %d %s (want fail_reason %q)", uid, st, env.Raw, want)
		}
	}
	// Kakao's monthly limit per sid: set it to 2 on the emulator's CID.
	req, _ := http.NewRequest("PUT", s.URL+"/pgsim/kakaopay/_sim/cids/TCSUBSCRIP", strings.NewReader(`{"monthly_limit":2}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("set limit: %v %v", err, resp)
	}
	issueByWindow(t, s, m, billing.WindowInput{PG: "kakaopay", MerchantUID: "i3", Amount: 0, CustomerUID: "k_limit"},
		map[string]string{"action": "approve", "method": "CARD", "card": "normal"})
	for i := 0; i < 2; i++ {
		if _, env, p := again(t, m, map[string]any{"customer_uid": "k_limit", "merchant_uid": "lim_" + string(rune('a'+i)), "amount": 1000}); p.Status != "paid" {
			t.Fatalf("charge %d within the limit: %s", i, env.Raw)
		}
	}
	st, env, p := again(t, m, map[string]any{"customer_uid": "k_limit", "merchant_uid": "lim_c", "amount": 1000})
	if st != 200 || env.Code != 0 || p.Status != "failed" || p.FailReason == nil || *p.FailReason != "[-752] sid exceeded its monthly maximum use count" {
		t.Fatalf("over the monthly limit: %d %s", st, env.Raw)
	}
}

func TestAbandonedWindowExpires(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	merchant, _ := s.App.Store.Read().MerchantByCode(context.Background(), m.Code)
	p, _, err := s.App.Billing.StartWindow(context.Background(), merchant, billing.WindowInput{PG: "kakaopay", MerchantUID: "walked_away", CustomerUID: "w"}, windowURLs(s.URL))
	if err != nil {
		t.Fatal(err)
	}
	// While open, the merchant_uid is taken.
	if _, _, err := s.App.Billing.StartWindow(context.Background(), merchant, billing.WindowInput{PG: "kakaopay", MerchantUID: "walked_away", CustomerUID: "w"}, windowURLs(s.URL)); billing.KindOf(err) != billing.KindRefused {
		t.Fatalf("second window on an open merchant_uid: %v", err)
	}
	s.App.Clock.(interface {
		Advance(time.Duration) time.Duration
	}).Advance(billing.WindowTTL + time.Minute)
	if _, err := s.App.Billing.ReconcileDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := s.App.Store.Read().Payment(context.Background(), m.ID, p.ImpUID)
	if got.Status != "failed" || got.FailReason != billing.MsgWindowExpired {
		t.Fatalf("abandoned window: %+v", got)
	}
	if _, _, err := s.App.Billing.StartWindow(context.Background(), merchant, billing.WindowInput{PG: "kakaopay", MerchantUID: "walked_away", CustomerUID: "w"}, windowURLs(s.URL)); err != nil {
		t.Fatalf("the expired merchant_uid can be used again: %v", err)
	}
}
