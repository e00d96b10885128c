package schedule_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"billkey/internal/billing"
	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/proctest"
)

// crashCall makes one API call; a transport error or a non-zero code fails the test.
func crashCall(t *testing.T, method, u, token string, body any, out any) {
	t.Helper()
	st, e, err := apptest.Call(&http.Client{Timeout: 20 * time.Second}, method, u, token, body)
	if err != nil || st != 200 || e.Code != 0 {
		t.Fatalf("%s %s: %v HTTP %d %s", method, u, err, st, e.Raw)
	}
	if out != nil {
		if err := json.Unmarshal(e.Response, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, e.Raw)
		}
	}
}

// TestScheduleCrash: a node killed while executing a scheduled charge does
// not lose or double it. The real binary runs with a failpoint that holds the
// schedule's charge after the test PG charged it and before billkey commits
// the outcome; the process is SIGKILLed there and restarted on the same data
// without the failpoint. The schedule must end executed and paid by that one
// charge: one payment for the merchant_uid, one charge in the PG's ledger.
func TestScheduleCrash(t *testing.T) {
	bin := proctest.Build(t)
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			dbArgs := proctest.DataArgs(t, engine, t.TempDir())
			impKey, impSecret := proctest.CreateMerchant(t, bin, dbArgs, "schedcrash")
			addr := proctest.FreeAddr(t)
			base := "http://" + addr
			env := []string{"BILLKEY_PG_TIMEOUT=2s", "BILLKEY_RECONCILE_INTERVAL=200ms", "BILLKEY_DEMO=false"}
			args := append([]string{"serve", "-addr", addr}, dbArgs...)
			token := func() string { // tokens expire with the test clock: a fresh one each time
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				crashCall(t, "POST", base+"/users/getToken", "", map[string]string{"imp_key": impKey, "imp_secret": impSecret}, &tok)
				return tok.AccessToken
			}
			advanceClock := func(secs int64) {
				crashCall(t, "POST", base+"/billkey/clock/advance", "", map[string]int64{"seconds": secs}, nil)
			}
			getSchedule := func() sched {
				var s sched
				crashCall(t, "GET", base+"/subscribe/payments/schedule/sched-crash", token(), nil, &s)
				return s
			}
			charges := func() []map[string]any { // every charge in the test PG's ledger
				resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(base + "/pgsim/testpg/_sim/ledger")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var all, out []map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
					t.Fatalf("testpg ledger: %v", err)
				}
				for _, e := range all {
					if e["kind"] == "charge" {
						out = append(out, e)
					}
				}
				return out
			}

			p1 := proctest.Start(t, bin, append(env, "BILLKEY_FAILPOINT="+billing.FailpointAfterPGChargeHang), args...)
			p1.WaitHealthy(t, base)
			crashCall(t, "POST", base+"/subscribe/customers/sched_crash", token(),
				url.Values{"pg": {"testpg"}, "card_number": {"4242-4242-4242-4242"}, "expiry": {"2030-12"}}, nil)
			var now struct {
				Now int64 `json:"now"`
			}
			crashCall(t, "GET", base+"/billkey/clock", "", nil, &now)
			crashCall(t, "POST", base+"/subscribe/payments/schedule", token(), map[string]any{"customer_uid": "sched_crash",
				"schedules": []map[string]any{{"merchant_uid": "sched-crash", "schedule_at": now.Now + 60, "amount": 5432}}}, nil)
			advanceClock(120)

			// The sweep picks the schedule up and its charge stops at the failpoint.
			marker := billing.FailpointMarker + " " + billing.FailpointAfterPGChargeHang + " imp_uid="
			var impUID string
			for i := 0; i < 600 && impUID == ""; i++ { // up to ~60 s
				select {
				case <-p1.Done:
					t.Fatalf("billkey exited before the kill: %v\n%s", p1.Err, p1.Logs)
				default:
				}
				for _, line := range strings.Split(p1.Logs.String(), "\n") {
					if rest, ok := strings.CutPrefix(line, marker); ok {
						impUID = strings.TrimSpace(rest)
					}
				}
				if impUID == "" {
					time.Sleep(100 * time.Millisecond)
				}
			}
			if impUID == "" {
				t.Fatalf("the scheduled charge did not reach the failpoint\n%s", p1.Logs)
			}
			// While held: not executed (i'mport shows a claimed schedule as
			// scheduled), its payment in flight, the PG has charged it.
			if s := getSchedule(); s.ScheduleStatus != "scheduled" || s.ExecutedAt != 0 || s.PaymentStatus != nil {
				t.Fatalf("schedule while its charge is held: %+v, want not executed", s)
			}
			var held payment
			crashCall(t, "GET", base+"/payments/"+impUID, token(), nil, &held)
			if held.Status != "ready" || held.MerchantUID != "sched-crash" {
				t.Fatalf("payment %s while held at the failpoint: %+v, want in flight", impUID, held)
			}
			if c := charges(); len(c) != 1 || c[0]["order_id"] != impUID || c[0]["status"] != "paid" {
				t.Fatalf("the PG's ledger before the kill: %v, want one paid charge for %s", c, impUID)
			}

			p1.Kill(t)

			// Restart without the failpoint. The payment's in-flight lease runs
			// on billkey's clock (PG timeout + grace): move past it so the
			// reconciler settles the payment, which marks the schedule. (The
			// schedule's claim lease is real time and is not needed here.)
			p2 := proctest.Start(t, bin, env, args...)
			p2.WaitHealthy(t, base)
			advanceClock(60)
			var s sched
			for i := 0; i < 600; i++ { // up to ~60 s
				if s = getSchedule(); s.ScheduleStatus == "executed" {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if s.ScheduleStatus != "executed" || s.PaymentStatus == nil || *s.PaymentStatus != "paid" || s.ImpUID == nil || *s.ImpUID != impUID {
				t.Fatalf("schedule after the restart: %+v, want executed and paid by %s\n%s", s, impUID, p2.Logs)
			}
			var pay payment
			crashCall(t, "GET", base+"/payments/"+impUID, token(), nil, &pay)
			if pay.Status != "paid" || pay.MerchantUID != "sched-crash" || pay.Amount != 5432 ||
				pay.CustomerUIDUsage == nil || *pay.CustomerUIDUsage != billing.UsageScheduled {
				t.Fatalf("payment %s after the restart: %+v", impUID, pay)
			}
			var all struct {
				Total int64     `json:"total"`
				List  []payment `json:"list"`
			}
			crashCall(t, "GET", base+"/payments/findAll/sched-crash", token(), nil, &all)
			if all.Total != 1 || len(all.List) != 1 || all.List[0].ImpUID != impUID {
				t.Fatalf("merchant_uid sched-crash has payments %+v, want just %s", all, impUID)
			}
			if c := charges(); len(c) != 1 || c[0]["order_id"] != impUID || c[0]["status"] != "paid" {
				t.Fatalf("the PG's ledger after the restart: %v, want just the one paid charge for %s", c, impUID)
			}
		})
	}
}
