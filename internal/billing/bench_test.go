package billing_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"billkey/internal/testutil/apptest"
)

// BenchmarkAgain measures POST /subscribe/payments/again over loopback HTTP
// against the built-in test PG (whose own state is durable too).
// go test -run '^$' -bench Again -cpu 1,2 ./internal/billing
func BenchmarkAgain(b *testing.B) {
	s := apptest.Start(b, apptest.Options{})
	m := s.NewMerchant(b)
	if st, env := m.Do(b, "POST", "/subscribe/customers/bench", map[string]string{"pg": "testpg", "card_number": "4242-4242-4242-4242", "expiry": "2030-12"}); st != 200 || env.Code != 0 {
		b.Fatalf("issue: %d %s", st, env.Raw)
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			st, env := m.Do(b, "POST", "/subscribe/payments/again", map[string]any{"customer_uid": "bench", "merchant_uid": "b" + strconv.FormatInt(i, 10), "amount": 1000})
			if st != 200 || env.Code != 0 {
				b.Fatalf("again: %d %s", st, env.Raw)
			}
		}
	})
}
