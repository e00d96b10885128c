package billing_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"billkey/internal/testutil/apptest"
)

func TestAgainPaidAndLookups(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			c := issueTestKey(t, m, "gildong_0001_1234", "4242-4242-4242-4242")
			if c.PGProvider != "testpg" || c.CardNumber == nil || strings.Contains(*c.CardNumber, "4242-4242-4242-4242") {
				t.Fatalf("customer: %+v", c)
			}

			// JSON body, the seed's curl.
			st, env, p := again(t, m, `{"customer_uid":"gildong_0001_1234", "merchant_uid":"order_id_8237352", "amount":3000}`)
			if st != 200 || env.Code != 0 || p.Status != "paid" || p.Amount != 3000 || p.PaidAt == 0 || p.Channel != "api" ||
				p.CustomerUIDUsage == nil || *p.CustomerUIDUsage != "payment" || p.FailReason != nil || !strings.HasPrefix(p.ImpUID, "imp_") || len(p.ImpUID) != 16 {
				t.Fatalf("again: %d %s", st, env.Raw)
			}
			// Every documented key is present.
			for _, k := range []string{`"apply_num":`, `"bank_name":null`, `"cancel_history":[]`, `"cancel_receipt_urls":[]`, `"vbank_date":0`,
				`"emb_pg_provider":null`, `"card_quota":0`, `"custom_data":null`, `"sandbox":true`, `"escrow":false`, `"currency":"KRW"`} {
				if !strings.Contains(string(env.Raw), k) {
					t.Errorf("payment lacks %s: %s", k, env.Raw)
				}
			}
			// Form body with numeric strings and bracket keys.
			st, env, p2 := again(t, m, url.Values{"customer_uid": {"gildong_0001_1234"}, "merchant_uid": {"order_2"}, "amount": {"10000"},
				"name": {"월 구독"}, "extra[naverUseCfm]": {"20201001"}, "custom_data": {`{"plan":"monthly"}`}})
			if st != 200 || p2.Status != "paid" || p2.Amount != 10000 {
				t.Fatalf("form again: %d %s", st, env.Raw)
			}
			if n := countKind(testpgLedger(t, s, p.ImpUID), "charge", ""); n != 1 {
				t.Fatalf("PG ledger has %d charges for %s, want 1", n, p.ImpUID)
			}

			// Lookups.
			st, env = m.Do(t, "GET", "/payments/"+p.ImpUID, nil)
			var got payment
			env.Into(t, &got)
			if st != 200 || got.ImpUID != p.ImpUID || got.Status != "paid" {
				t.Fatalf("GET payment: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/payments/imp_000000000000", nil); st != 404 || env.Code != -1 || env.Msg() != "존재하지 않는 결제정보입니다." {
				t.Fatalf("unknown imp_uid: %d %s", st, env.Raw)
			}
			for _, path := range []string{"/payments/find/order_2", "/payments/find/order_2/", "/payments/find/order_2/paid", "/payments/find/order_2/all"} {
				st, env = m.Do(t, "GET", path, nil)
				env.Into(t, &got)
				if st != 200 || got.ImpUID != p2.ImpUID {
					t.Errorf("%s: %d %s", path, st, env.Raw)
				}
			}
			if st, env = m.Do(t, "GET", "/payments/find/order_2/failed", nil); st != 404 {
				t.Errorf("find failed: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/payments/find/order_2/bogus", nil); st != 400 || env.Msg() != "지원되지 않는 상태값입니다." {
				t.Errorf("find bogus status: %d %s", st, env.Raw)
			}
			var pg pagedPayments
			st, env = m.Do(t, "GET", "/payments/findAll/order_2", nil)
			env.Into(t, &pg)
			if st != 200 || pg.Total != 1 || len(pg.List) != 1 || pg.Next != 0 || pg.Previous != 0 {
				t.Errorf("findAll: %d %s", st, env.Raw)
			}
			if st, _ = m.Do(t, "GET", "/payments/findAll/nope", nil); st != 404 {
				t.Errorf("findAll unknown: %d", st)
			}
			st, env = m.Do(t, "GET", "/payments/status/paid?limit=1&page=1", nil)
			env.Into(t, &pg)
			if st != 200 || pg.Total != 2 || len(pg.List) != 1 || pg.Next != 2 {
				t.Errorf("status paged: %d %s", st, env.Raw)
			}
			st, env = m.Do(t, "GET", "/payments/status/paid?limit=1&page=2", nil)
			env.Into(t, &pg)
			if st != 200 || pg.Previous != 1 || pg.Next != 0 || len(pg.List) != 1 {
				t.Errorf("status page 2: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/payments/status/nope", nil); st != 400 {
				t.Errorf("status nope: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/payments/status/all?limit=5000", nil); st != 400 {
				t.Errorf("limit 5000: %d %s", st, env.Raw)
			}
			// Multi lookups: 200 all, 207 some, 404 none; the three array encodings.
			for _, q := range []string{
				"imp_uid[]=" + p.ImpUID + "&imp_uid[]=" + p2.ImpUID,
				"imp_uid%5B0%5D=" + p.ImpUID + "&imp_uid%5B1%5D=" + p2.ImpUID,
				"imp_uid=" + p.ImpUID + "&imp_uid=" + p2.ImpUID,
			} {
				var list []payment
				st, env = m.Do(t, "GET", "/payments?"+q, nil)
				env.Into(t, &list)
				if st != 200 || len(list) != 2 {
					t.Errorf("multi %s: %d %s", q, st, env.Raw)
				}
			}
			if st, env = m.Do(t, "GET", "/payments?imp_uid[]="+p.ImpUID+"&imp_uid[]=imp_999999999999", nil); st != 207 || env.Code != 0 {
				t.Errorf("multi partial: %d %s", st, env.Raw)
			}
			if st, _ = m.Do(t, "GET", "/payments?merchant_uid[]=zz", nil); st != 404 {
				t.Errorf("multi none: %d", st)
			}
			// Customer endpoints.
			st, env = m.Do(t, "GET", "/subscribe/customers/gildong_0001_1234/payments", nil)
			env.Into(t, &pg)
			if st != 200 || pg.Total != 2 {
				t.Errorf("customer payments: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/subscribe/customers?customer_uid[]=gildong_0001_1234&customer_uid[]=nobody", nil); st != 207 {
				t.Errorf("customers partial: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/subscribe/customers?customer_uid[]=gildong_0001_1234", nil); st != 200 {
				t.Errorf("customers all: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/subscribe/customers?customer_uid[]=nobody", nil); st != 404 {
				t.Errorf("customers none: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "GET", "/subscribe/customers/nobody", nil); st != 404 || env.Code == 0 || !strings.Contains(env.Msg(), "nobody") {
				t.Errorf("customer unknown: %d %s", st, env.Raw)
			}
			// Delete: the key is gone, later charges are refused with code 1.
			if st, env = m.Do(t, "DELETE", "/subscribe/customers/gildong_0001_1234?reason=test", nil); st != 200 || env.Code != 0 {
				t.Fatalf("delete: %d %s", st, env.Raw)
			}
			if st, env = m.Do(t, "DELETE", "/subscribe/customers/gildong_0001_1234", nil); st != 404 {
				t.Errorf("delete again: %d %s", st, env.Raw)
			}
			if st, env, _ = again(t, m, map[string]any{"customer_uid": "gildong_0001_1234", "merchant_uid": "order_3", "amount": 1000}); st != 200 || env.Code != 1 {
				t.Errorf("again after delete: %d %s", st, env.Raw)
			}
		})
	}
}

func TestAgainDeclinesAndRefusals(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	issueTestKey(t, m, "poor", "4000-0000-0000-0341")
	issueTestKey(t, m, "rich", "4242-4242-4242-4242")

	// A PG decline: HTTP 200, code 0, status failed with reason and failed_at.
	st, env, p := again(t, m, map[string]any{"customer_uid": "poor", "merchant_uid": "m1", "amount": 5000})
	if st != 200 || env.Code != 0 || p.Status != "failed" || p.FailReason == nil || *p.FailReason == "" || p.FailedAt == 0 || p.PaidAt != 0 {
		t.Fatalf("decline: %d %s", st, env.Raw)
	}
	// A merchant_uid whose attempts all failed may be tried again.
	st, env, p2 := again(t, m, map[string]any{"customer_uid": "rich", "merchant_uid": "m1", "amount": 5000})
	if st != 200 || p2.Status != "paid" {
		t.Fatalf("retry after failure: %d %s", st, env.Raw)
	}
	// A paid merchant_uid is refused with code 1 and nothing is charged.
	before := len(testpgLedger(t, s, ""))
	st, env, _ = again(t, m, map[string]any{"customer_uid": "rich", "merchant_uid": "m1", "amount": 5000})
	if st != 200 || env.Code != 1 || string(env.Response) != "null" || env.Msg() == "" {
		t.Fatalf("duplicate merchant_uid: %d %s", st, env.Raw)
	}
	// Unknown customer: code 1, nothing charged.
	st, env, _ = again(t, m, map[string]any{"customer_uid": "ghost", "merchant_uid": "m2", "amount": 5000})
	if st != 200 || env.Code != 1 || env.Msg() != "등록되지 않은 구매자입니다." {
		t.Fatalf("unknown customer: %d %s", st, env.Raw)
	}
	if after := len(testpgLedger(t, s, "")); after != before {
		t.Fatalf("refusals reached the PG: ledger %d → %d", before, after)
	}
	// Bad input: 400 envelopes, never 500.
	for name, body := range map[string]any{
		"no amount":       map[string]any{"customer_uid": "rich", "merchant_uid": "m3"},
		"amount text":     url.Values{"customer_uid": {"rich"}, "merchant_uid": {"m3"}, "amount": {"abc"}},
		"amount float":    `{"customer_uid":"rich","merchant_uid":"m3","amount":10.5}`,
		"negative":        map[string]any{"customer_uid": "rich", "merchant_uid": "m3", "amount": -5},
		"malformed":       `{"customer_uid":`,
		"wrong type":      `{"customer_uid":{"a":1},"merchant_uid":"m3","amount":100}`,
		"long muid":       map[string]any{"customer_uid": "rich", "merchant_uid": strings.Repeat("x", 41), "amount": 100},
		"no merchant_uid": map[string]any{"customer_uid": "rich", "amount": 100},
		"currency":        map[string]any{"customer_uid": "rich", "merchant_uid": "m3", "amount": 100, "currency": "USD"},
	} {
		st, env := m.Do(t, "POST", "/subscribe/payments/again", body)
		if st != 400 || env.Code == 0 || env.Msg() == "" || string(env.Response) != "null" {
			t.Errorf("%s: want 400 envelope, got %d %s", name, st, env.Raw)
		}
	}
	big := `{"customer_uid":"rich","merchant_uid":"m4","amount":100,"name":"` + strings.Repeat("가", 600000) + `"}`
	if st, env := m.Do(t, "POST", "/subscribe/payments/again", big); st != 413 || env.Code == 0 {
		t.Errorf("oversized body: %d %s", st, env.Raw)
	}
	if n, _, _ := s.App.Store.Read().Payments(t.Context(), storeFilter(m, "m3")); len(n) != 0 {
		t.Errorf("bad input left %d records", len(n))
	}
	// Kakao Pay and PAYCO cannot issue keys from card numbers.
	for _, pg := range []string{"kakaopay", "payco"} {
		st, env := m.Do(t, "POST", "/subscribe/customers/k1", url.Values{"pg": {pg}, "card_number": {"4242-4242-4242-4242"}, "expiry": {"2030-12"}})
		if st != 200 || env.Code == 0 || !strings.Contains(env.Msg(), pg) {
			t.Errorf("key-in on %s: %d %s", pg, st, env.Raw)
		}
		st, env = m.Do(t, "POST", "/subscribe/payments/onetime", url.Values{"pg": {pg}, "merchant_uid": {"o-" + pg}, "amount": {"1000"},
			"card_number": {"4242-4242-4242-4242"}, "expiry": {"2030-12"}})
		if st != 200 || env.Code == 0 || !strings.Contains(env.Msg(), pg) {
			t.Errorf("onetime on %s: %d %s", pg, st, env.Raw)
		}
	}
	// Decline at issuance.
	st, env = m.Do(t, "POST", "/subscribe/customers/bad", url.Values{"pg": {"testpg"}, "card_number": {"4000-0000-0000-0002"}, "expiry": {"2030-12"}})
	if st != 200 || env.Code != -1 {
		t.Errorf("decline at issuance: %d %s", st, env.Raw)
	}
	// onetime on the test PG charges and stores the key.
	st, env = m.Do(t, "POST", "/subscribe/payments/onetime", url.Values{"pg": {"testpg"}, "merchant_uid": {"o1"}, "amount": {"1500"},
		"card_number": {"4242-4242-4242-4242"}, "expiry": {"2030-12"}, "customer_uid": {"saved"}})
	var op payment
	env.Into(t, &op)
	if st != 200 || env.Code != 0 || op.Status != "paid" {
		t.Errorf("onetime: %d %s", st, env.Raw)
	}
	if st, _ := m.Do(t, "GET", "/subscribe/customers/saved", nil); st != 200 {
		t.Errorf("onetime did not store the key: %d", st)
	}
}

func TestConcurrentAgainChargesOnce(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "c1", "4242-4242-4242-4242")
			const n = 100
			var wg sync.WaitGroup
			codes := make([]int, n)
			statuses := make([]string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					st, env, p := again(t, m, map[string]any{"customer_uid": "c1", "merchant_uid": "same-order", "amount": 990})
					if st != 200 {
						t.Errorf("call %d: HTTP %d %s", i, st, env.Raw)
					}
					codes[i], statuses[i] = env.Code, p.Status
				}(i)
			}
			wg.Wait()
			paid, refused := 0, 0
			for i := range codes {
				switch {
				case codes[i] == 0 && statuses[i] == "paid":
					paid++
				case codes[i] == 1:
					refused++
				}
			}
			if paid != 1 || refused != n-1 {
				t.Fatalf("paid %d, refused %d; want 1 and %d", paid, refused, n-1)
			}
			if charges := countKind(testpgLedger(t, s, ""), "charge", ""); charges != 1 {
				t.Fatalf("the PG saw %d charges, want exactly 1", charges)
			}
		})
	}
}

func TestMerchantIsolation(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			a, b := s.NewMerchant(t), s.NewMerchant(t)
			issueTestKey(t, a, "shared_uid", "4242-4242-4242-4242")
			_, _, pa := again(t, a, map[string]any{"customer_uid": "shared_uid", "merchant_uid": "a-order", "amount": 1000})
			if pa.Status != "paid" {
				t.Fatal("setup charge failed")
			}
			checks := []struct {
				method, path string
				body         any
				wantStatus   int
			}{
				{"GET", "/subscribe/customers/shared_uid", nil, 404},
				{"GET", "/subscribe/customers?customer_uid[]=shared_uid", nil, 404},
				{"GET", "/subscribe/customers/shared_uid/payments", nil, 404},
				{"DELETE", "/subscribe/customers/shared_uid", nil, 404},
				{"GET", "/payments/" + pa.ImpUID, nil, 404},
				{"GET", "/payments?imp_uid[]=" + pa.ImpUID, nil, 404},
				{"GET", "/payments/find/a-order", nil, 404},
				{"GET", "/payments/findAll/a-order", nil, 404},
			}
			for _, c := range checks {
				st, env := b.Do(t, c.method, c.path, c.body)
				if st != c.wantStatus || env.Code == 0 {
					t.Errorf("B %s %s: %d %s", c.method, c.path, st, env.Raw)
				}
			}
			var pg pagedPayments
			_, env := b.Do(t, "GET", "/payments/status/all", nil)
			env.Into(t, &pg)
			if pg.Total != 0 {
				t.Errorf("B sees %d payments", pg.Total)
			}
			if st, env, _ := again(t, b, map[string]any{"customer_uid": "shared_uid", "merchant_uid": "b-order", "amount": 1000}); st != 200 || env.Code != 1 {
				t.Errorf("B charged A's customer: %d %s", st, env.Raw)
			}
			for _, body := range []map[string]any{{"imp_uid": pa.ImpUID}, {"merchant_uid": "a-order"}} {
				if st, env := b.Do(t, "POST", "/payments/cancel", body); st != 200 || env.Code != 1 {
					t.Errorf("B cancelled A's payment: %d %s", st, env.Raw)
				}
			}
			// A's records are untouched.
			var pa2 payment
			_, env = a.Do(t, "GET", "/payments/"+pa.ImpUID, nil)
			env.Into(t, &pa2)
			if pa2.Status != "paid" || pa2.CancelAmount != 0 {
				t.Errorf("A's payment changed: %s", env.Raw)
			}
			if st, _ := a.Do(t, "GET", "/subscribe/customers/shared_uid", nil); st != 200 {
				t.Errorf("A's customer gone: %d", st)
			}
			// The same customer_uid and merchant_uid are independent per merchant.
			issueTestKey(t, b, "shared_uid", "4242-4242-4242-4242")
			if _, env, p := again(t, b, map[string]any{"customer_uid": "shared_uid", "merchant_uid": "a-order", "amount": 700}); p.Status != "paid" {
				t.Errorf("B's own charge with A's merchant_uid: %s", env.Raw)
			}
			_ = fmt.Sprint
		})
	}
}

// TestReusedCustomerUIDChargesTheNewKey: a customer_uid issued again
// replaces its key, and the very next charge uses the new one.
func TestReusedCustomerUIDChargesTheNewKey(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	issueTestKey(t, m, "reused", "4242-4242-4242-4242")
	if _, env, p := again(t, m, map[string]any{"customer_uid": "reused", "merchant_uid": "r1", "amount": 1000}); p.Status != "paid" {
		t.Fatalf("first key: %s", env.Raw)
	}
	issueTestKey(t, m, "reused", "4000-0000-0000-0341") // issues, but its charges decline
	if _, env, p := again(t, m, map[string]any{"customer_uid": "reused", "merchant_uid": "r2", "amount": 1000}); p.Status != "failed" {
		t.Fatalf("the replaced key was charged: %s", env.Raw)
	}
}
