package schedule_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"billkey/internal/testutil/apptest"
)

func expect(t *testing.T, what string, st int, env apptest.Envelope, wantStatus, wantCode int, msgPart string) {
	t.Helper()
	if st != wantStatus || env.Code != wantCode || !strings.Contains(env.Msg(), msgPart) {
		t.Fatalf("%s: HTTP %d code %d %q, want HTTP %d code %d containing %q", what, st, env.Code, env.Msg(), wantStatus, wantCode, msgPart)
	}
	if wantCode != 0 && string(env.Response) != "null" {
		t.Fatalf("%s: response %s, want null", what, env.Response)
	}
}

func TestScheduleEndpoints(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueKey(t, m, "ok", "4242-4242-4242-4242")
			issueKey(t, m, "poor", "4000-0000-0000-0341") // issued, every charge declined
			now := clockNow(t, s)

			// Creation: validation, unknown customer, duplicates (in the request and stored), form bodies.
			st, env := m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"schedules": []any{}})
			expect(t, "no customer_uid", st, env, 400, -1, "customer_uid")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "ok"})
			expect(t, "no schedules", st, env, 400, -1, "schedules")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "ok",
				"schedules": []map[string]any{{"merchant_uid": "x", "schedule_at": now + 100, "amount": 0}}})
			expect(t, "zero amount", st, env, 400, -1, "schedules[0].amount")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "nobody",
				"schedules": []map[string]any{{"merchant_uid": "x", "schedule_at": now + 100, "amount": 1000}}})
			expect(t, "unknown customer", st, env, 200, 1, "등록된 고객정보가 없습니다.")
			form := url.Values{"customer_uid": {"ok"}}
			for i := 0; i < 3; i++ {
				form.Set(fmt.Sprintf("schedules[%d][merchant_uid]", i), fmt.Sprintf("f%d", i))
				form.Set(fmt.Sprintf("schedules[%d][schedule_at]", i), fmt.Sprint(now+int64(1000*(i+1))))
				form.Set(fmt.Sprintf("schedules[%d][amount]", i), "10000")
				form.Set(fmt.Sprintf("schedules[%d][extra][naverUseCfm]", i), "20301001")
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/", form)
			expect(t, "form schedule", st, env, 200, 0, "")
			var created []sched
			env.Into(t, &created)
			if len(created) != 3 || created[2].MerchantUID != "f2" || created[0].Currency != "KRW" || created[0].BuyerName == nil || *created[0].BuyerName != "홍길동" {
				t.Fatalf("created: %s", env.Raw)
			}
			if !strings.Contains(string(env.Raw), `"payment_status":null`) || !strings.Contains(string(env.Raw), `"executed_at":0`) {
				t.Fatalf("keys: %s", env.Raw)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "ok",
				"schedules": []map[string]any{{"merchant_uid": "new1", "schedule_at": now + 100, "amount": 1000}, {"merchant_uid": "f1", "schedule_at": now + 100, "amount": 1000}}})
			expect(t, "duplicate merchant_uid", st, env, 200, 1, "f1")
			if st, _ := m.Do(t, "GET", "/subscribe/payments/schedule/new1", nil); st != 404 {
				t.Fatalf("a refused request stored new1: %d", st)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "ok",
				"schedules": []map[string]any{{"merchant_uid": "d", "schedule_at": now + 100, "amount": 1000}, {"merchant_uid": "d", "schedule_at": now + 100, "amount": 1000}}})
			expect(t, "duplicate in request", st, env, 200, 1, "d")

			// Lookup, move.
			st, env = m.Do(t, "GET", "/subscribe/payments/schedule/none", nil)
			expect(t, "unknown schedule", st, env, 404, -1, "")
			st, env = m.Do(t, "PUT", "/subscribe/payments/schedule/f0", map[string]any{"schedule_at": now - 10})
			expect(t, "move into the past", st, env, 400, -1, "schedule_at")
			st, env = m.Do(t, "PUT", "/subscribe/payments/schedule/f0", map[string]any{"schedule_at": now + 500})
			expect(t, "move", st, env, 200, 0, "")
			if g := getSched(t, m, "f0"); g.ScheduleAt != now+500 {
				t.Fatalf("moved: %+v", g)
			}
			st, env = m.Do(t, "PUT", "/subscribe/payments/schedule/none", map[string]any{"schedule_at": now + 500})
			expect(t, "move unknown", st, env, 404, -1, "")

			// Unschedule: by merchant_uid string, nothing left, then retry/reschedule of the revoked one.
			st, env = m.Do(t, "POST", "/subscribe/payments/unschedule", map[string]any{"customer_uid": "ok", "merchant_uid": "f2"})
			expect(t, "unschedule string", st, env, 200, 0, "")
			var revoked []sched
			env.Into(t, &revoked)
			if len(revoked) != 1 || revoked[0].ScheduleStatus != "revoked" || revoked[0].RevokedAt == 0 {
				t.Fatalf("revoked: %s", env.Raw)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/unschedule", map[string]any{"merchant_uid": []string{"f2"}})
			expect(t, "nothing to revoke", st, env, 200, 1, "취소할 예약결제 기록이 존재하지 않습니다.")
			st, env = m.Do(t, "POST", "/subscribe/payments/unschedule", map[string]any{})
			expect(t, "unschedule without ids", st, env, 400, -1, "")
			st, env = m.Do(t, "PUT", "/subscribe/payments/schedule/f2", map[string]any{"schedule_at": now + 900})
			expect(t, "move revoked", st, env, 400, -1, "")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/f1/reschedule", map[string]any{"schedule_at": now + 900})
			expect(t, "reschedule pending", st, env, 400, -1, "")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/f1/retry", nil)
			expect(t, "retry pending", st, env, 400, -1, "")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/f2/retry", nil)
			expect(t, "retry revoked", st, env, 200, 0, "")
			var p payment
			env.Into(t, &p)
			if p.Status != "paid" || p.MerchantUID != "f2" || *p.CustomerUIDUsage != "payment.scheduled" {
				t.Fatalf("retry payment: %s", env.Raw)
			}
			if g := getSched(t, m, "f2"); g.ScheduleStatus != "executed" || *g.PaymentStatus != "paid" || *g.ImpUID != p.ImpUID {
				t.Fatalf("after retry: %+v", g)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/f2/reschedule", map[string]any{"schedule_at": now + 900})
			expect(t, "reschedule paid", st, env, 400, -1, "")

			// A declined scheduled charge: executed/failed, webhook-free here; retry and reschedule it.
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "poor",
				"schedules": []map[string]any{{"merchant_uid": "p1", "schedule_at": now + 60, "amount": 1000}}})
			expect(t, "schedule poor", st, env, 200, 0, "")
			advance(t, s, 120, m)
			g := waitExecuted(t, m, "p1")
			if *g.PaymentStatus != "failed" || g.FailReason == nil || g.ImpUID == nil {
				t.Fatalf("declined: %+v", g)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/p1/retry", nil)
			expect(t, "retry failed", st, env, 200, 0, "")
			env.Into(t, &p)
			if p.Status != "failed" || p.FailReason == nil {
				t.Fatalf("retry of a declined key: %s", env.Raw)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/p1/reschedule", map[string]any{"schedule_at": clockNow(t, s) + 3600})
			expect(t, "reschedule failed", st, env, 200, 0, "")
			if g := getSched(t, m, "p1"); g.ScheduleStatus != "scheduled" || g.PaymentStatus != nil || g.ImpUID != nil {
				t.Fatalf("rescheduled: %+v", g)
			}

			// Lists: range (required, ≤ 3 months, limit ≤ 1000, status, sorting) and per customer (both routes, both spellings).
			from, to := now-10, now+100000
			st, env = m.Do(t, "GET", "/subscribe/payments/schedule", nil)
			expect(t, "range without bounds", st, env, 400, -1, "")
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d", from, from+100*86400), nil)
			expect(t, "range too long", st, env, 400, -1, "3")
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?from=%d&to=%d&limit=1001", from, to), nil)
			expect(t, "limit", st, env, 400, -1, "limit")
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?from=%d&to=%d&schedule_status=bogus", from, to), nil)
			expect(t, "bad status", st, env, 400, -1, "")
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d&limit=2&sorting=scheduled", from, to), nil)
			expect(t, "range", st, env, 200, 0, "")
			var pg pagedScheds
			env.Into(t, &pg)
			if pg.Total != 4 || pg.Next != 2 || pg.Previous != 0 || len(pg.List) != 2 || pg.List[0].ScheduleAt > pg.List[1].ScheduleAt {
				t.Fatalf("range page: %s", env.Raw)
			}
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d&schedule_status=executed", from, to), nil)
			env.Into(t, &pg)
			if pg.Total != 1 || pg.List[0].MerchantUID != "f2" {
				t.Fatalf("executed filter: %s", env.Raw)
			}
			for _, path := range []string{"/subscribe/payments/schedule/customers/ok", "/subscribe/customers/ok/schedules"} {
				for _, key := range []string{"schedule-status", "schedule_status"} {
					st, env = m.Do(t, "GET", fmt.Sprintf("%s?from=%d&to=%d&%s=scheduled", path, from, to, key), nil)
					expect(t, path, st, env, 200, 0, "")
					env.Into(t, &pg)
					if pg.Total != 2 || pg.List[0].ScheduleAt < pg.List[1].ScheduleAt {
						t.Fatalf("%s %s: %s", path, key, env.Raw)
					}
				}
			}
			st, env = m.Do(t, "GET", "/subscribe/customers/ok/schedules", nil)
			expect(t, "customer list defaults", st, env, 200, 0, "")

			// Deleting the customer revokes its pending schedules.
			st, env = m.Do(t, "DELETE", "/subscribe/customers/ok", nil)
			expect(t, "delete customer", st, env, 200, 0, "")
			if g := getSched(t, m, "f0"); g.ScheduleStatus != "revoked" {
				t.Fatalf("after delete: %+v", g)
			}
			if st, _ := s.Do(t, "GET", "/subscribe/payments/schedule/f0", "", nil); st != 401 {
				t.Fatalf("unauthenticated: %d", st)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	issueKey(t, m, "poor", "4000-0000-0000-0341")
	st, env := m.Do(t, "PUT", "/billkey/schedule-retry-policy", map[string]any{"delays": "1d,bogus"})
	expect(t, "bad policy", st, env, 400, -1, "")
	st, env = m.Do(t, "PUT", "/billkey/schedule-retry-policy", map[string]any{"delays": "1d,3d"})
	expect(t, "policy", st, env, 200, 0, "")
	now := clockNow(t, s)
	st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "poor",
		"schedules": []map[string]any{{"merchant_uid": "r1", "schedule_at": now + 60, "amount": 1000}}})
	expect(t, "schedule", st, env, 200, 0, "")
	var imps []string
	for i, step := range []int64{120, 86400 + 60, 3*86400 + 60} {
		advance(t, s, step, m)
		waitFor(t, func() bool {
			g := getSched(t, m, "r1")
			return g.ScheduleStatus == "executed" && g.ImpUID != nil && (len(imps) == 0 || *g.ImpUID != imps[len(imps)-1])
		})
		g := getSched(t, m, "r1")
		imps = append(imps, *g.ImpUID)
		if *g.PaymentStatus != "failed" {
			t.Fatalf("attempt %d: %+v", i, g)
		}
	}
	// No third retry: the policy had two delays.
	advance(t, s, 30*86400, m)
	time.Sleep(2500 * time.Millisecond) // a few sweeps
	st, env = m.Do(t, "GET", "/payments/findAll/r1", nil)
	var ps struct {
		Total int64 `json:"total"`
	}
	env.Into(t, &ps)
	if ps.Total != 3 {
		t.Fatalf("%d attempts, want 3", ps.Total)
	}
}
