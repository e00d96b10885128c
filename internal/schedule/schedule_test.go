package schedule_test

import (
	"testing"

	"billkey/internal/testutil/apptest"
)

func TestScheduleExecutesOnceWithWebhook(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			rcv := newReceiver(t)
			setWebhook(t, s, m, rcv.srv.URL, "json")
			issueKey(t, m, "cust1", "4242-4242-4242-4242")
			now := clockNow(t, s)
			st, env := m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "cust1",
				"schedules": []map[string]any{
					{"merchant_uid": "s1", "schedule_at": now + 3600, "amount": 1000, "name": "월 구독"},
					{"merchant_uid": "s2", "schedule_at": now + 7200, "amount": 1000},
				}})
			if st != 200 || env.Code != 0 {
				t.Fatalf("schedule: %d %s", st, env.Raw)
			}
			var created []sched
			env.Into(t, &created)
			if len(created) != 2 || created[0].MerchantUID != "s1" || created[0].ScheduleStatus != "scheduled" || created[0].PaymentStatus != nil || created[0].ImpUID != nil {
				t.Fatalf("created: %s", env.Raw)
			}
			advance(t, s, 3700, m)
			sc := waitExecuted(t, m, "s1")
			if sc.PaymentStatus == nil || *sc.PaymentStatus != "paid" || sc.ImpUID == nil || sc.ExecutedAt == 0 {
				t.Fatalf("executed: %+v", sc)
			}
			if got := getSched(t, m, "s2"); got.ScheduleStatus != "scheduled" {
				t.Fatalf("s2 ran early: %+v", got)
			}
			st, env = m.Do(t, "GET", "/payments/"+*sc.ImpUID, nil)
			var p payment
			env.Into(t, &p)
			if p.Status != "paid" || p.CustomerUIDUsage == nil || *p.CustomerUIDUsage != "payment.scheduled" || p.Channel != "api" {
				t.Fatalf("payment: %s", env.Raw)
			}
			waitFor(t, func() bool { return len(rcv.hooks()) >= 1 })
			b := rcv.bodies(t)[0]
			if b["imp_uid"] != *sc.ImpUID || b["merchant_uid"] != "s1" || b["status"] != "paid" {
				t.Fatalf("webhook: %v", b)
			}
		})
	}
}
