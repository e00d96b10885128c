package billing_test

import (
	"net/url"
	"testing"

	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
)

func storeFilter(m *apptest.Merchant, muid string) store.PaymentFilter {
	return store.PaymentFilter{MerchantID: m.ID, MerchantUIDs: []string{muid}, Limit: 10}
}

func cancel(t *testing.T, m *apptest.Merchant, body any) (int, apptest.Envelope, payment) {
	t.Helper()
	st, env := m.Do(t, "POST", "/payments/cancel", body)
	var p payment
	if st == 200 && env.Code == 0 {
		env.Into(t, &p)
	}
	return st, env, p
}

func TestCancel(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "c", "4242-4242-4242-4242")
			_, _, p := again(t, m, map[string]any{"customer_uid": "c", "merchant_uid": "order-c", "amount": 10000})

			// checksum mismatch: nothing happens.
			st, env, _ := cancel(t, m, map[string]any{"imp_uid": p.ImpUID, "amount": 3000, "checksum": 9999})
			if st != 200 || env.Code != 1 {
				t.Fatalf("checksum mismatch: %d %s", st, env.Raw)
			}
			// Partial cancel (form, with checksum): status cancelled, balance left.
			st, env, c1 := cancel(t, m, url.Values{"imp_uid": {p.ImpUID}, "amount": {"3000"}, "checksum": {"10000"}, "reason": {"부분환불"}, "extra[requester]": {"customer"}})
			if st != 200 || env.Code != 0 || c1.Status != "cancelled" || c1.CancelAmount != 3000 || len(c1.CancelHistory) != 1 ||
				c1.CancelledAt == 0 || c1.CancelReason == nil || *c1.CancelReason != "부분환불" {
				t.Fatalf("partial cancel: %d %s", st, env.Raw)
			}
			// Over the balance: refused.
			if st, env, _ = cancel(t, m, map[string]any{"imp_uid": p.ImpUID, "amount": 8000}); env.Code != 1 {
				t.Fatalf("over-cancel: %d %s", st, env.Raw)
			}
			// By merchant_uid, amount omitted: the whole remaining balance.
			st, env, c2 := cancel(t, m, map[string]any{"merchant_uid": "order-c", "reason": "전액", "checksum": 7000})
			if st != 200 || env.Code != 0 || c2.CancelAmount != 10000 || len(c2.CancelHistory) != 2 || c2.CancelHistory[1].Amount != 7000 {
				t.Fatalf("full cancel: %d %s", st, env.Raw)
			}
			if st, env, _ = cancel(t, m, map[string]any{"imp_uid": p.ImpUID}); env.Code != 1 || env.Msg() != "이미 전액취소된 주문입니다." {
				t.Fatalf("already cancelled: %d %s", st, env.Raw)
			}
			if st, env, _ = cancel(t, m, map[string]any{"imp_uid": "imp_000000000001", "merchant_uid": "order-c"}); env.Code != 1 || env.Msg() != "취소할 결제건이 존재하지 않습니다." {
				t.Fatalf("unknown imp_uid wins over a valid merchant_uid: %d %s", st, env.Raw)
			}
			if st, env, _ = cancel(t, m, map[string]any{}); st != 400 {
				t.Fatalf("no id: %d %s", st, env.Raw)
			}
			// The PG's ledger agrees: two cancels totalling 10000.
			var total int64
			for _, e := range testpgLedger(t, s, "") {
				if e.Kind == "cancel" {
					total += e.Amount
				}
			}
			if total != 10000 {
				t.Fatalf("PG ledger cancelled %d, want 10000", total)
			}
			// A failed payment cannot be cancelled.
			issueTestKey(t, m, "poor", "4000-0000-0000-0341")
			_, _, f := again(t, m, map[string]any{"customer_uid": "poor", "merchant_uid": "order-f", "amount": 100})
			if st, env, _ = cancel(t, m, map[string]any{"imp_uid": f.ImpUID}); env.Code != 1 {
				t.Fatalf("cancel failed payment: %d %s", st, env.Raw)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	if st, env := m.Do(t, "POST", "/payments/prepare", map[string]any{"merchant_uid": "p1", "amount": 1000}); st != 200 || env.Code != 0 {
		t.Fatalf("prepare: %d %s", st, env.Raw)
	}
	if st, env := m.Do(t, "POST", "/payments/prepare", map[string]any{"merchant_uid": "p1", "amount": 1000}); env.Code != 1 {
		t.Fatalf("prepare twice: %d %s", st, env.Raw)
	}
	if st, env := m.Do(t, "PUT", "/payments/prepare", url.Values{"merchant_uid": {"p1"}, "amount": {"2000"}}); st != 200 || env.Code != 0 {
		t.Fatalf("prepare put: %d %s", st, env.Raw)
	}
	st, env := m.Do(t, "GET", "/payments/prepare/p1", nil)
	var pr struct {
		MerchantUID string `json:"merchant_uid"`
		Amount      int64  `json:"amount"`
	}
	env.Into(t, &pr)
	if st != 200 || pr.Amount != 2000 {
		t.Fatalf("prepare get: %d %s", st, env.Raw)
	}
	if st, env := m.Do(t, "GET", "/payments/prepare/nope", nil); st != 404 || env.Msg() != "사전등록된 결제정보가 존재하지 않습니다." {
		t.Fatalf("prepare unknown: %d %s", st, env.Raw)
	}
	if st, _ := m.Do(t, "PUT", "/payments/prepare", map[string]any{"merchant_uid": "nope", "amount": 5}); st != 404 {
		t.Fatalf("put unknown: %d", st)
	}
	if st, _ := m.Do(t, "POST", "/payments/prepare", map[string]any{"merchant_uid": "p2", "amount": 0}); st != 400 {
		t.Fatalf("prepare amount 0: %d", st)
	}
}
