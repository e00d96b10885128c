package schedule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"billkey/internal/testutil/apptest"
)

// paymentCount is the number of payments a merchant_uid has (findAll's total; 404 is none).
func paymentCount(t *testing.T, m *apptest.Merchant, merchantUID string) int64 {
	t.Helper()
	st, env := m.Do(t, "GET", "/payments/findAll/"+merchantUID, nil)
	if st == 404 {
		return 0
	}
	if st != 200 || env.Code != 0 {
		t.Fatalf("findAll %s: %d %s", merchantUID, st, env.Raw)
	}
	var ps struct {
		Total int64 `json:"total"`
	}
	env.Into(t, &ps)
	return ps.Total
}

// Error paths of retry, reschedule, PUT and the lists (docs/compat.md, "PUT /
// reschedule / retry" and "Schedule lists").
func TestScheduleErrorPaths(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueKey(t, m, "ok", "4242-4242-4242-4242")
			issueKey(t, m, "gone", "4242-4242-4242-4242")  // deleted while its schedule is pending
			issueKey(t, m, "gone2", "4000-0000-0000-0341") // its charge fails, then it is deleted
			now := clockNow(t, s)

			// Unknown schedules: 404 for retry and reschedule, nothing charged.
			st, env := m.Do(t, "POST", "/subscribe/payments/schedule/none/retry", nil)
			expect(t, "retry unknown", st, env, 404, -1, "존재하지 않는 예약결제입니다.")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/none/reschedule", map[string]any{"schedule_at": now + 3600})
			expect(t, "reschedule unknown", st, env, 404, -1, "존재하지 않는 예약결제입니다.")
			if n := paymentCount(t, m, "none"); n != 0 {
				t.Fatalf("retry of an unknown schedule made %d payments", n)
			}

			for _, c := range []struct {
				cust, uid string
				at        int64
			}{{"ok", "a1", now + 1000}, {"gone", "g1", now + 5000}, {"gone2", "g2", now + 60}} {
				st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": c.cust,
					"schedules": []map[string]any{{"merchant_uid": c.uid, "schedule_at": c.at, "amount": 1000}}})
				expect(t, "schedule "+c.uid, st, env, 200, 0, "")
			}

			// PUT to a past time, to the current time, or without a time: 400, the schedule unchanged.
			for name, body := range map[string]any{
				"past":        map[string]any{"schedule_at": now - 1},
				"now":         map[string]any{"schedule_at": now},
				"long ago":    map[string]any{"schedule_at": 1},
				"no time":     map[string]any{},
				"past string": fmt.Sprintf(`{"schedule_at":"%d"}`, now-3600),
			} {
				st, env = m.Do(t, "PUT", "/subscribe/payments/schedule/a1", body)
				expect(t, "PUT "+name, st, env, 400, -1, "schedule_at")
			}
			if g := getSched(t, m, "a1"); g.ScheduleAt != now+1000 || g.ScheduleStatus != "scheduled" {
				t.Fatalf("a refused PUT changed the schedule: %+v", g)
			}

			// A deleted key revokes its pending schedule; retrying it is 404 (the key is unknown) and charges nothing.
			st, env = m.Do(t, "DELETE", "/subscribe/customers/gone", nil)
			expect(t, "delete gone", st, env, 200, 0, "")
			if g := getSched(t, m, "g1"); g.ScheduleStatus != "revoked" || g.RevokedAt == 0 {
				t.Fatalf("after deleting the key: %+v", g)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/g1/retry", nil)
			expect(t, "retry with deleted key", st, env, 404, -1, "customer_uid(gone)")
			if n := paymentCount(t, m, "g1"); n != 0 {
				t.Fatalf("retry with a deleted key made %d payments", n)
			}
			if g := getSched(t, m, "g1"); g.ScheduleStatus != "revoked" || g.ImpUID != nil {
				t.Fatalf("after the refused retry: %+v", g)
			}

			// A failed schedule: reschedule into the past is 400; once its key is deleted, retry is 404.
			advance(t, s, 120, m)
			g := waitExecuted(t, m, "g2")
			if g.PaymentStatus == nil || *g.PaymentStatus != "failed" || g.ImpUID == nil {
				t.Fatalf("declined: %+v", g)
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/g2/reschedule", map[string]any{"schedule_at": now})
			expect(t, "reschedule into the past", st, env, 400, -1, "schedule_at")
			st, env = m.Do(t, "DELETE", "/subscribe/customers/gone2", nil)
			expect(t, "delete gone2", st, env, 200, 0, "")
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule/g2/retry", nil)
			expect(t, "retry failed with deleted key", st, env, 404, -1, "customer_uid(gone2)")
			if n := paymentCount(t, m, "g2"); n != 1 {
				t.Fatalf("g2 has %d payments, want the one declined charge", n)
			}
			if g2 := getSched(t, m, "g2"); g2.ScheduleStatus != "executed" || g2.ImpUID == nil || *g2.ImpUID != *g.ImpUID {
				t.Fatalf("after the refused retry: %+v (was %+v)", g2, g)
			}

			// Per-customer lists: at most 93 days (both routes), limit 1..1000.
			now = clockNow(t, s)
			const day = 86400
			for _, path := range []string{"/subscribe/payments/schedule/customers/ok", "/subscribe/customers/ok/schedules"} {
				for _, q := range []string{
					fmt.Sprintf("from=%d&to=%d", now-day, now+93*day),
					fmt.Sprintf("schedule_from=%d&schedule_to=%d", now-100*day, now+100*day),
				} {
					st, env = m.Do(t, "GET", path+"?"+q, nil)
					expect(t, path+" over 3 months", st, env, 400, -1, "3")
				}
				st, env = m.Do(t, "GET", fmt.Sprintf("%s?from=%d&to=%d", path, now-day, now+92*day), nil)
				expect(t, path+" 93 days", st, env, 200, 0, "")
				var pg pagedScheds
				env.Into(t, &pg)
				if pg.Total != 1 || pg.List[0].MerchantUID != "a1" {
					t.Fatalf("%s: %s", path, env.Raw)
				}
				st, env = m.Do(t, "GET", path+"?limit=1001", nil)
				expect(t, path+" limit 1001", st, env, 400, -1, "limit")
				st, env = m.Do(t, "GET", path+"?limit=-1", nil)
				expect(t, path+" limit -1", st, env, 400, -1, "limit")
				st, env = m.Do(t, "GET", path+"?limit=1000", nil)
				expect(t, path+" limit 1000", st, env, 200, 0, "")
			}

			// Range list: both bounds required (either spelling), limit ≤ 1000.
			for _, q := range []string{
				fmt.Sprintf("schedule_from=%d", now-day),
				fmt.Sprintf("schedule_to=%d", now+day),
				fmt.Sprintf("from=%d", now-day),
				fmt.Sprintf("to=%d", now+day),
				"limit=10",
			} {
				st, env = m.Do(t, "GET", "/subscribe/payments/schedule?"+q, nil)
				expect(t, "range list "+q, st, env, 400, -1, "schedule_from")
			}
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d&limit=5000", now-day, now+day), nil)
			expect(t, "range list limit 5000", st, env, 400, -1, "limit")
			st, env = m.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d&limit=1000", now-day, now+day), nil)
			expect(t, "range list limit 1000", st, env, 200, 0, "")
		})
	}
}

// A declined scheduled charge sends its webhook with status failed, for the
// schedule's payment, already visible as failed.
func TestScheduledDeclineSendsFailedWebhook(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			rcv := newReceiver(t)
			setWebhook(t, s, m, rcv.srv.URL, "json")
			issueKey(t, m, "poor", "4000-0000-0000-0341") // issued; charges declined F051
			now := clockNow(t, s)
			st, env := m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": "poor",
				"schedules": []map[string]any{{"merchant_uid": "d1", "schedule_at": now + 60, "amount": 1000}}})
			expect(t, "schedule", st, env, 200, 0, "")
			advance(t, s, 120, m)
			sc := waitExecuted(t, m, "d1")
			if sc.PaymentStatus == nil || *sc.PaymentStatus != "failed" || sc.ImpUID == nil || sc.FailReason == nil {
				t.Fatalf("declined schedule: %+v", sc)
			}
			waitFor(t, func() bool { return len(rcv.hooks()) >= 1 })
			bs := rcv.bodies(t)
			if len(bs) != 1 {
				t.Fatalf("webhooks: %v", bs)
			}
			if b := bs[0]; len(b) != 3 || b["imp_uid"] != *sc.ImpUID || b["merchant_uid"] != "d1" || b["status"] != "failed" {
				t.Fatalf("webhook: %v, schedule %+v", b, sc)
			}
			if h := rcv.hooks()[0].Header; !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("webhook-id") == "" {
				t.Fatalf("webhook headers: %v", h)
			}
			st, env = m.Do(t, "GET", "/payments/"+*sc.ImpUID, nil)
			var p payment
			env.Into(t, &p)
			if st != 200 || p.Status != "failed" || p.CustomerUIDUsage == nil || *p.CustomerUIDUsage != "payment.scheduled" {
				t.Fatalf("payment: %d %s", st, env.Raw)
			}
		})
	}
}

// The test clock is an operator tool: it refuses requests from anywhere but
// loopback, and advance refuses bad input without moving the clock.
func TestClockEndpointsGuard(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	offset := func() int64 {
		t.Helper()
		st, env := s.Do(t, "GET", "/billkey/clock", "", nil)
		if st != 200 || env.Code != 0 {
			t.Fatalf("clock: %d %s", st, env.Raw)
		}
		var c struct {
			Offset *int64 `json:"offset_seconds"`
		}
		env.Into(t, &c)
		if c.Offset == nil {
			t.Fatalf("clock without offset_seconds: %s", env.Raw)
		}
		return *c.Offset
	}
	if o := offset(); o != 0 {
		t.Fatalf("fresh server offset %d", o)
	}

	// In-process requests (no network traffic) with a forged RemoteAddr.
	serve := func(method, path, remote, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		s.App.Handler.ServeHTTP(rec, req)
		return rec
	}
	for _, remote := range []string{"192.0.2.1:1234", "[2001:db8::1]:1234", "10.0.0.1:80", "192.0.2.1", "", "localhost:1234"} {
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/billkey/clock", ""},
			{"POST", "/billkey/clock/advance", `{"seconds":3600}`},
			{"POST", "/billkey/clock/advance", `{"duration":"720h"}`},
		} {
			rec := serve(rq.method, rq.path, remote, rq.body)
			var env apptest.Envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusForbidden || env.Code != -1 {
				t.Fatalf("%s %s from %q: %d %s", rq.method, rq.path, remote, rec.Code, rec.Body)
			}
		}
	}
	if o := offset(); o != 0 {
		t.Fatalf("a refused advance moved the clock: offset %d", o)
	}
	for _, remote := range []string{"127.0.0.1:1234", "[::1]:1234"} {
		if rec := serve("GET", "/billkey/clock", remote, ""); rec.Code != 200 {
			t.Fatalf("GET /billkey/clock from %s: %d %s", remote, rec.Code, rec.Body)
		}
	}

	// Bad input to advance, over HTTP from loopback: 400, the clock unmoved.
	for _, body := range []string{
		`{}`, `{"seconds":0}`, `{"seconds":-60}`, `{"seconds":"soon"}`, `{"seconds":4000000000}`,
		`{"duration":"bogus"}`, `{"duration":"-1h"}`, `{"duration":"0s"}`, `{"duration":"xd"}`, `{"duration":"-3d"}`,
		`{"duration":"100000000h"}`, `{"duration":"1000000d"}`, `{"seconds":3600,"duration":"-2h"}`,
		`{"seconds":`, `[1]`, `"720h"`,
	} {
		st, env := s.Do(t, "POST", "/billkey/clock/advance", "", body)
		if st != 400 || env.Code != -1 || env.Msg() == "" || string(env.Response) != "null" {
			t.Fatalf("advance %s: %d %s", body, st, env.Raw)
		}
	}
	if o := offset(); o != 0 {
		t.Fatalf("a refused advance moved the clock: offset %d", o)
	}
	// Good input still works afterwards.
	st, env := s.Do(t, "POST", "/billkey/clock/advance", "", map[string]string{"duration": "1d"})
	if st != 200 || env.Code != 0 {
		t.Fatalf("advance 1d: %d %s", st, env.Raw)
	}
	if o := offset(); o != 86400 {
		t.Fatalf("offset after 1d: %d", o)
	}
}
