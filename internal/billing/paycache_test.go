package billing_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"billkey/internal/iamport"
	"billkey/internal/testutil/apptest"
)

// TestPaymentLookupMatchesStore: GET /payments/{imp_uid} right after a
// charge (served from the charge path's cache on SQLite) is exactly the
// object built from the stored row, for a paid and a declined charge, and a
// cancel is visible at once.
func TestPaymentLookupMatchesStore(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "cache_ok", "4242-4242-4242-4242")
			issueTestKey(t, m, "cache_decline", "4000-0000-0000-0341")
			ctx := context.Background()
			same := func(imp, want string) {
				t.Helper()
				st, env := m.Do(t, "GET", "/payments/"+imp, nil)
				if st != 200 || env.Code != 0 {
					t.Fatalf("GET %s: %d %s", imp, st, env.Raw)
				}
				row, err := s.App.Store.Read().Payment(ctx, m.ID, imp)
				if err != nil {
					t.Fatal(err)
				}
				stored, _ := json.Marshal(iamport.PaymentJSON(row))
				var a, b map[string]any
				if err := json.Unmarshal(env.Response, &a); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(stored, &b); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("GET %s differs from the stored row:\n got  %s\n want %s", imp, env.Response, stored)
				}
				if a["status"] != want {
					t.Fatalf("GET %s: status %v, want %s", imp, a["status"], want)
				}
			}
			_, env, paid := again(t, m, map[string]any{"customer_uid": "cache_ok", "merchant_uid": "cache-1", "amount": 5000})
			if paid.Status != "paid" {
				t.Fatalf("again: %s", env.Raw)
			}
			same(paid.ImpUID, "paid")
			_, env, failed := again(t, m, map[string]any{"customer_uid": "cache_decline", "merchant_uid": "cache-2", "amount": 5000})
			if failed.Status != "failed" {
				t.Fatalf("declined again: %s", env.Raw)
			}
			same(failed.ImpUID, "failed")
			if st, env := m.Do(t, "POST", "/payments/cancel", map[string]any{"imp_uid": paid.ImpUID, "amount": 1000}); st != 200 || env.Code != 0 {
				t.Fatalf("cancel: %d %s", st, env.Raw)
			}
			same(paid.ImpUID, "cancelled")
		})
	}
}
