package billing_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/billing"
	"billkey/internal/testutil/apptest"
)

// listedPayment is a payment with the fields the list tests need.
type listedPayment struct {
	payment
	StartedAt int64 `json:"started_at"`
}

type pagedListed struct {
	Total    int64           `json:"total"`
	Previous int             `json:"previous"`
	Next     int             `json:"next"`
	List     []listedPayment `json:"list"`
}

func getPaged(t *testing.T, m *apptest.Merchant, path string) (int, apptest.Envelope, pagedListed) {
	t.Helper()
	st, env := m.Do(t, "GET", path, nil)
	var pg pagedListed
	if st == 200 && env.Code == 0 {
		env.Into(t, &pg)
	}
	return st, env, pg
}

func impUIDs(ps []listedPayment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ImpUID
	}
	return out
}

// advanceClock moves billkey's test clock over HTTP and renews the
// merchant's token (tokens expire with the moved clock).
func advanceClock(t *testing.T, s *apptest.Server, m *apptest.Merchant, duration string) {
	t.Helper()
	if st, env := s.Do(t, "POST", "/billkey/clock/advance", "", map[string]any{"duration": duration}); st != 200 || env.Code != 0 {
		t.Fatalf("advance clock %s: %d %s", duration, st, env.Raw)
	}
	st, env := s.Do(t, "POST", "/users/getToken", "", map[string]any{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
	if st != 200 || env.Code != 0 {
		t.Fatalf("getToken after advance: %d %s", st, env.Raw)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.Into(t, &tok)
	m.Token = tok.AccessToken
}

// testpgConfig changes the test PG's artificial delays.
func testpgConfig(t *testing.T, s *apptest.Server, body string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", s.URL+"/pgsim/testpg/_sim/config", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("testpg config: HTTP %d", resp.StatusCode)
	}
}

type tidLedgerEntry struct {
	ledgerEntry
	TID string `json:"tid"`
}

func testpgLedgerTIDs(t *testing.T, s *apptest.Server, orderID string) []tidLedgerEntry {
	t.Helper()
	resp, err := http.Get(s.URL + "/pgsim/testpg/_sim/ledger?order_id=" + url.QueryEscape(orderID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []tidLedgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("ledger: %v", err)
	}
	return out
}

func getPayment(t *testing.T, m *apptest.Merchant, impUID string) payment {
	t.Helper()
	st, env := m.Do(t, "GET", "/payments/"+impUID, nil)
	if st != 200 || env.Code != 0 {
		t.Fatalf("GET /payments/%s: %d %s", impUID, st, env.Raw)
	}
	var p payment
	env.Into(t, &p)
	return p
}

// waitSettled polls a payment until it is no longer in flight (status
// ready), for at most 60 s.
func waitSettled(t *testing.T, m *apptest.Merchant, impUID string) payment {
	t.Helper()
	for i := 0; i < 600; i++ {
		if p := getPayment(t, m, impUID); p.Status != "ready" {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("payment %s was never reconciled", impUID)
	return payment{}
}

// TestAgainPGTimeoutReconciledPaid: the slow test card (0259) is charged by
// the PG, which holds its answer past billkey's PG timeout. again answers
// code -1, the payment stays in flight with its merchant_uid blocked, and
// the reconciler (driven by moving the test clock past the lease) settles it
// as paid from the PG's record, charged exactly once.
func TestAgainPGTimeoutReconciledPaid(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine, PGTimeout: 3 * time.Second})
			m := s.NewMerchant(t)
			testpgConfig(t, s, `{"slow_ms":30000}`) // well past the PG timeout
			issueTestKey(t, m, "slow", "4000-0000-0000-0259")
			issueTestKey(t, m, "ok", "4242-4242-4242-4242")

			type result struct {
				st  int
				env apptest.Envelope
				err error
			}
			done := make(chan result, 1)
			go func() {
				st, env, err := apptest.Call(s.Client, "POST", s.URL+"/subscribe/payments/again", m.Token,
					map[string]any{"customer_uid": "slow", "merchant_uid": "slow-order", "amount": 4500})
				done <- result{st, env, err}
			}()

			// While the PG holds its answer, the payment is visible as ready
			// and its merchant_uid is refused, even with another (good) key.
			var inflight payment
			for i := 0; i < 300 && inflight.ImpUID == ""; i++ {
				if st, env := m.Do(t, "GET", "/payments/find/slow-order", nil); st == 200 {
					env.Into(t, &inflight)
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if inflight.ImpUID == "" {
				t.Fatal("the in-flight payment never showed up")
			}
			select {
			case r := <-done:
				done <- r // the call already returned (slow machine): skip the during-call checks
			default:
				if inflight.Status != "ready" || inflight.PaidAt != 0 || inflight.FailedAt != 0 || inflight.FailReason != nil {
					t.Fatalf("in flight: %+v", inflight)
				}
			}
			st, env, _ := again(t, m, map[string]any{"customer_uid": "ok", "merchant_uid": "slow-order", "amount": 4500})
			if st != 200 || env.Code != 1 || env.Msg() != billing.MsgDuplicateMerchant || string(env.Response) != "null" {
				t.Fatalf("merchant_uid in flight: %d %s", st, env.Raw)
			}

			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.st != 200 || r.env.Code != -1 || string(r.env.Response) != "null" ||
				!strings.Contains(r.env.Msg(), "PG사 통신에 실패했습니다") || !strings.Contains(r.env.Msg(), "TIMEOUT") ||
				!strings.Contains(r.env.Msg(), "결제 결과를 확인 중입니다") || !strings.Contains(r.env.Msg(), inflight.ImpUID) ||
				strings.Contains(r.env.Msg(), "http://") { // the PG's address stays in the logs
				t.Fatalf("again with a PG timeout: %d %s", r.st, r.env.Raw)
			}
			// The PG charged it (it records before holding the answer).
			led := testpgLedgerTIDs(t, s, inflight.ImpUID)
			if len(led) != 1 || led[0].Kind != "charge" || led[0].Status != "paid" || led[0].Amount != 4500 {
				t.Fatalf("PG ledger: %+v", led)
			}
			// Until reconciled it stays ready (the lease is PG timeout + 2 s
			// of grace, so on a slow machine it may already be settled).
			if p := getPayment(t, m, inflight.ImpUID); p.Status == "ready" {
				if p.PaidAt != 0 || p.FailReason != nil {
					t.Fatalf("still in flight: %+v", p)
				}
				if st, env, _ := again(t, m, map[string]any{"customer_uid": "ok", "merchant_uid": "slow-order", "amount": 4500}); st != 200 || env.Code != 1 {
					t.Fatalf("merchant_uid after the timeout: %d %s", st, env.Raw)
				}
				if st, env, _ := cancel(t, m, map[string]any{"imp_uid": inflight.ImpUID}); st != 200 || env.Code != 1 {
					t.Fatalf("cancel of an in-flight payment: %d %s", st, env.Raw)
				}
			} else if p.Status != "paid" {
				t.Fatalf("after the timeout: %+v", p)
			}

			// Move the clock past the lease: the periodic reconciler asks the PG.
			advanceClock(t, s, m, "1m")
			p := waitSettled(t, m, inflight.ImpUID)
			if p.Status != "paid" || p.PaidAt == 0 || p.FailReason != nil || p.Amount != 4500 || p.PGTID == nil || *p.PGTID != led[0].TID {
				t.Fatalf("reconciled: %+v, want paid with the PG's tid %s", p, led[0].TID)
			}
			// Never charged twice: the merchant_uid stays taken and the PG saw one charge.
			if st, env, _ := again(t, m, map[string]any{"customer_uid": "ok", "merchant_uid": "slow-order", "amount": 4500}); st != 200 || env.Code != 1 {
				t.Fatalf("merchant_uid after reconciliation: %d %s", st, env.Raw)
			}
			if n := countKind(testpgLedger(t, s, ""), "charge", ""); n != 1 {
				t.Fatalf("the PG saw %d charges, want 1", n)
			}
			if _, env, pg := getPaged(t, m, "/payments/findAll/slow-order"); pg.Total != 1 {
				t.Fatalf("payments of slow-order: %s", env.Raw)
			}
		})
	}
}

// TestAgainPGErrorReconciledFailed: the PG-error card (0119) answers HTTP
// 500 and records nothing. again answers code -1; the payment is in flight
// (a 5xx may have charged) and blocks its merchant_uid; the reconciler finds
// no charge at the PG and fails it, which frees the merchant_uid.
func TestAgainPGErrorReconciledFailed(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			// A long PG timeout makes the lease (timeout + grace) long, so the
			// in-flight state lasts until the test moves the clock.
			s := apptest.Start(t, apptest.Options{Engine: engine, PGTimeout: 30 * time.Second})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "broken", "4000-0000-0000-0119")
			issueTestKey(t, m, "ok", "4242-4242-4242-4242")

			st, env, _ := again(t, m, map[string]any{"customer_uid": "broken", "merchant_uid": "err-order", "amount": 2500})
			againMsg := env.Msg()
			if st != 200 || env.Code != -1 || string(env.Response) != "null" ||
				!strings.Contains(env.Msg(), "PG사 통신에 실패했습니다: [PG_ERROR] 일시적인 PG 장애") ||
				!strings.Contains(env.Msg(), "결제 결과를 확인 중입니다") {
				t.Fatalf("again with a PG error: %d %s", st, env.Raw)
			}
			st, env = m.Do(t, "GET", "/payments/find/err-order", nil)
			var p payment
			env.Into(t, &p)
			if st != 200 || p.Status != "ready" || p.PaidAt != 0 || p.FailedAt != 0 || p.FailReason != nil || p.Amount != 2500 ||
				p.CustomerUID == nil || *p.CustomerUID != "broken" || !strings.Contains(againMsg, p.ImpUID) {
				t.Fatalf("recorded after the PG error: %d %s", st, env.Raw)
			}
			if led := testpgLedger(t, s, p.ImpUID); len(led) != 0 {
				t.Fatalf("the PG recorded %+v", led)
			}
			// In flight: the merchant_uid is refused before any PG call, and
			// the payment cannot be cancelled.
			if st, env, _ := again(t, m, map[string]any{"customer_uid": "ok", "merchant_uid": "err-order", "amount": 2500}); st != 200 || env.Code != 1 || env.Msg() != billing.MsgDuplicateMerchant {
				t.Fatalf("merchant_uid in flight: %d %s", st, env.Raw)
			}
			if st, env, _ := cancel(t, m, map[string]any{"merchant_uid": "err-order"}); st != 200 || env.Code != 1 {
				t.Fatalf("cancel in flight: %d %s", st, env.Raw)
			}
			if n := len(testpgLedger(t, s, "")); n != 0 {
				t.Fatalf("refusals reached the PG: %d ledger entries", n)
			}

			advanceClock(t, s, m, "1m")
			got := waitSettled(t, m, p.ImpUID)
			if got.Status != "failed" || got.FailedAt == 0 || got.PaidAt != 0 || got.FailReason == nil ||
				*got.FailReason != "PG사에 승인 기록이 없어 실패 처리되었습니다. (reconciled: the PG has no record of this charge)" {
				t.Fatalf("reconciled: %+v", got)
			}
			if led := testpgLedger(t, s, p.ImpUID); len(led) != 0 {
				t.Fatalf("the PG recorded %+v", led)
			}
			// Failed for sure: the merchant_uid may be charged again.
			st, env, p2 := again(t, m, map[string]any{"customer_uid": "ok", "merchant_uid": "err-order", "amount": 2500})
			if st != 200 || env.Code != 0 || p2.Status != "paid" || p2.ImpUID == p.ImpUID {
				t.Fatalf("retry after reconciled failure: %d %s", st, env.Raw)
			}
			_, env, all := getPaged(t, m, "/payments/findAll/err-order")
			if all.Total != 2 {
				t.Fatalf("findAll err-order: %s", env.Raw)
			}
			if _, env, failed := getPaged(t, m, "/payments/findAll/err-order/failed"); failed.Total != 1 || failed.List[0].ImpUID != p.ImpUID {
				t.Fatalf("findAll err-order/failed: %s", env.Raw)
			}
			if n := countKind(testpgLedger(t, s, ""), "charge", ""); n != 1 {
				t.Fatalf("the PG saw %d charges, want 1 (the retry)", n)
			}
		})
	}
}

// webhookReceiver records every notification billkey delivers.
type webhookReceiver struct {
	mu     sync.Mutex
	bodies []map[string]string
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var b map[string]string
	raw, _ := io.ReadAll(req.Body)
	json.Unmarshal(raw, &b)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.mu.Unlock()
}

func (r *webhookReceiver) all() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]string(nil), r.bodies...)
}

type webhookEvent struct {
	EventID string `json:"event_id"`
	ImpUID  string `json:"imp_uid"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	URL     string `json:"url"`
	State   string `json:"state"`
}

func webhookEvents(t *testing.T, m *apptest.Merchant, impUID string) []webhookEvent {
	t.Helper()
	st, env := m.Do(t, "GET", "/billkey/webhooks?limit=100&imp_uid="+url.QueryEscape(impUID), nil)
	if st != 200 || env.Code != 0 {
		t.Fatalf("list webhooks: %d %s", st, env.Raw)
	}
	var p struct {
		List []webhookEvent `json:"list"`
	}
	env.Into(t, &p)
	return p.List
}

func countReason(evs []webhookEvent, reason string) int {
	n := 0
	for _, e := range evs {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// TestCancelEnableWebhook: a cancel queues a webhook only with
// enable_webhook true, to the payment's notice_url, and it is delivered.
func TestCancelEnableWebhook(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			rcv := &webhookReceiver{}
			srv := httptest.NewServer(rcv) // 127.0.0.1
			defer srv.Close()
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "wh", "4242-4242-4242-4242")
			_, env, p := again(t, m, map[string]any{"customer_uid": "wh", "merchant_uid": "wh-1", "amount": 10000, "notice_url": srv.URL + "/hook"})
			if p.Status != "paid" {
				t.Fatalf("again: %s", env.Raw)
			}
			// The outbox row commits with the change, so counts are exact right after each call.
			evs := webhookEvents(t, m, p.ImpUID)
			if len(evs) != 1 || evs[0].Reason != "paid" || evs[0].URL != srv.URL+"/hook" {
				t.Fatalf("events after the charge: %+v", evs)
			}
			for name, body := range map[string]any{
				"enable_webhook false": map[string]any{"imp_uid": p.ImpUID, "amount": 1000, "enable_webhook": false},
				"enable_webhook unset": map[string]any{"imp_uid": p.ImpUID, "amount": 1000},
				"form false":           url.Values{"imp_uid": {p.ImpUID}, "amount": {"1000"}, "enable_webhook": {"false"}},
			} {
				if st, env, c := cancel(t, m, body); st != 200 || env.Code != 0 || c.Status != "cancelled" {
					t.Fatalf("%s: %d %s", name, st, env.Raw)
				}
				if evs := webhookEvents(t, m, p.ImpUID); len(evs) != 1 {
					t.Fatalf("%s queued a webhook: %+v", name, evs)
				}
			}
			// enable_webhook true, as JSON and as a form: one cancelled event each.
			if st, env, c := cancel(t, m, map[string]any{"imp_uid": p.ImpUID, "amount": 1000, "enable_webhook": true}); st != 200 || env.Code != 0 || c.CancelAmount != 4000 {
				t.Fatalf("cancel with webhook: %d %s", st, env.Raw)
			}
			evs = webhookEvents(t, m, p.ImpUID)
			if len(evs) != 2 || countReason(evs, "cancelled") != 1 {
				t.Fatalf("events after enable_webhook true: %+v", evs)
			}
			if st, env, c := cancel(t, m, url.Values{"merchant_uid": {"wh-1"}, "enable_webhook": {"true"}}); st != 200 || env.Code != 0 || c.CancelAmount != 10000 {
				t.Fatalf("form cancel with webhook: %d %s", st, env.Raw)
			}
			evs = webhookEvents(t, m, p.ImpUID)
			if len(evs) != 3 || countReason(evs, "cancelled") != 2 {
				t.Fatalf("events after the form cancel: %+v", evs)
			}
			for _, e := range evs {
				if e.URL != srv.URL+"/hook" || (e.Reason == "cancelled" && e.Status != "cancelled") {
					t.Fatalf("event: %+v", e)
				}
			}
			// Delivered: paid once, cancelled twice, bodies of exactly {imp_uid, merchant_uid, status}.
			var got []map[string]string
			for i := 0; i < 600; i++ {
				if got = rcv.all(); len(got) >= 3 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			statuses := map[string]int{}
			for _, b := range got {
				if len(b) != 3 || b["imp_uid"] != p.ImpUID || b["merchant_uid"] != "wh-1" {
					t.Fatalf("webhook body: %v", b)
				}
				statuses[b["status"]]++
			}
			if len(got) != 3 || statuses["paid"] != 1 || statuses["cancelled"] != 2 {
				t.Fatalf("delivered: %v", got)
			}

			// No notice_url and no merchant webhook URL: enable_webhook queues nothing.
			_, env, q := again(t, m, map[string]any{"customer_uid": "wh", "merchant_uid": "wh-2", "amount": 3000})
			if q.Status != "paid" {
				t.Fatalf("again: %s", env.Raw)
			}
			if st, env, _ := cancel(t, m, map[string]any{"imp_uid": q.ImpUID, "enable_webhook": true}); st != 200 || env.Code != 0 {
				t.Fatalf("cancel: %d %s", st, env.Raw)
			}
			if evs := webhookEvents(t, m, q.ImpUID); len(evs) != 0 {
				t.Fatalf("queued without any URL: %+v", evs)
			}
		})
	}
}

// TestPaymentsByStatusRange: from/to select on started_at, both ends
// included; to defaults to now and from to to − 90 days; limit and page
// bounds are 400s.
func TestPaymentsByStatusRange(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "rich", "4242-4242-4242-4242")
			issueTestKey(t, m, "poor", "4000-0000-0000-0341")
			charge := func(cust, muid string) listedPayment {
				t.Helper()
				_, env, p := again(t, m, map[string]any{"customer_uid": cust, "merchant_uid": muid, "amount": 1000})
				var lp listedPayment
				env.Into(t, &lp)
				if p.Status == "" || lp.StartedAt == 0 {
					t.Fatalf("again %s: %s", muid, env.Raw)
				}
				return lp
			}
			a := charge("rich", "r-a")
			advanceClock(t, s, m, "1d")
			b := charge("rich", "r-b")
			f := charge("poor", "r-f") // b's second or the next: ranges around both end at f
			advanceClock(t, s, m, "1d")
			c := charge("rich", "r-c")
			if b.StartedAt-a.StartedAt < 86400 || c.StartedAt-b.StartedAt < 86400 || f.Status != "failed" {
				t.Fatalf("setup: %+v %+v %+v %+v", a, b, f, c)
			}
			q := func(status string, v url.Values) string { return "/payments/status/" + status + "?" + v.Encode() }
			num := func(n int64) string { return fmt.Sprint(n) }
			cases := []struct {
				name string
				path string
				want []string // imp_uids in order
			}{
				{"defaults", q("paid", nil), []string{c.ImpUID, b.ImpUID, a.ImpUID}},
				{"one second", q("paid", url.Values{"from": {num(b.StartedAt)}, "to": {num(b.StartedAt)}}), []string{b.ImpUID}},
				{"between", q("paid", url.Values{"from": {num(a.StartedAt + 1)}, "to": {num(c.StartedAt - 1)}}), []string{b.ImpUID}},
				{"to only", q("paid", url.Values{"to": {num(b.StartedAt)}}), []string{b.ImpUID, a.ImpUID}},
				{"from only", q("paid", url.Values{"from": {num(b.StartedAt)}}), []string{c.ImpUID, b.ImpUID}},
				{"after all", q("paid", url.Values{"from": {num(c.StartedAt + 1)}, "to": {num(c.StartedAt + 3600)}}), []string{}},
				{"ascending", q("paid", url.Values{"sorting": {"started"}}), []string{a.ImpUID, b.ImpUID, c.ImpUID}},
				{"failed in range", q("failed", url.Values{"from": {num(b.StartedAt)}, "to": {num(f.StartedAt)}}), []string{f.ImpUID}},
				{"failed out of range", q("failed", url.Values{"from": {num(c.StartedAt)}}), []string{}},
				{"all in range", q("all", url.Values{"from": {num(b.StartedAt)}, "to": {num(f.StartedAt)}, "sorting": {"started"}}), []string{b.ImpUID, f.ImpUID}},
			}
			for _, tc := range cases {
				st, env, pg := getPaged(t, m, tc.path)
				if st != 200 || pg.Total != int64(len(tc.want)) || pg.List == nil || strings.Join(impUIDs(pg.List), ",") != strings.Join(tc.want, ",") {
					t.Errorf("%s (%s): %d %s", tc.name, tc.path, st, env.Raw)
				}
			}
			// Paging within a range.
			rng := url.Values{"from": {num(a.StartedAt)}, "to": {num(c.StartedAt)}, "limit": {"2"}}
			_, env, p1 := getPaged(t, m, q("paid", rng))
			rng.Set("page", "2")
			_, env2, p2 := getPaged(t, m, q("paid", rng))
			rng.Set("page", "3")
			_, env3, p3 := getPaged(t, m, q("paid", rng))
			if p1.Total != 3 || len(p1.List) != 2 || p1.Previous != 0 || p1.Next != 2 ||
				p2.Total != 3 || len(p2.List) != 1 || p2.Previous != 1 || p2.Next != 0 || p2.List[0].ImpUID != a.ImpUID ||
				p3.Total != 3 || len(p3.List) != 0 || p3.Next != 0 {
				t.Errorf("paging: %s / %s / %s", env.Raw, env2.Raw, env3.Raw)
			}
			if st, env, pg := getPaged(t, m, q("paid", url.Values{"limit": {"1000"}})); st != 200 || len(pg.List) != 3 {
				t.Errorf("limit 1000: %d %s", st, env.Raw)
			}
			// Bounds: 400 with code -1, never a 500.
			for _, v := range []url.Values{
				{"limit": {"1001"}}, {"limit": {"-1"}}, {"limit": {"abc"}},
				{"page": {"-1"}}, {"page": {"1000001"}}, {"page": {"x"}},
				{"from": {"abc"}}, {"to": {"1.5"}},
				{"from": {num(c.StartedAt)}, "to": {num(a.StartedAt)}},
				{"sorting": {"amount"}},
			} {
				if st, env := m.Do(t, "GET", q("paid", v), nil); st != 400 || env.Code != -1 || env.Msg() == "" || string(env.Response) != "null" {
					t.Errorf("%s: want 400, got %d %s", v.Encode(), st, env.Raw)
				}
			}
			// 91 days later the default window (to − 90 days .. now) holds none
			// of them; an explicit range still finds them.
			advanceClock(t, s, m, "91d")
			if st, env, pg := getPaged(t, m, q("all", nil)); st != 200 || pg.Total != 0 || len(pg.List) != 0 {
				t.Errorf("default window after 91 days: %d %s", st, env.Raw)
			}
			if st, env, pg := getPaged(t, m, q("all", url.Values{"from": {num(a.StartedAt)}})); st != 200 || pg.Total != 4 {
				t.Errorf("explicit from after 91 days: %d %s", st, env.Raw)
			}
			// from defaults to to − 90 days, not to now − 90 days.
			if st, env, pg := getPaged(t, m, q("paid", url.Values{"to": {num(c.StartedAt)}})); st != 200 || pg.Total != 3 {
				t.Errorf("to only, from defaulting to to − 90 days: %d %s", st, env.Raw)
			}
		})
	}
}

// TestFindAllAndFindStatusFilter: findAll/{merchant_uid}/{status} filters by
// status; find/{merchant_uid}/{status} with no payment in that status is 404.
func TestFindAllAndFindStatusFilter(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "rich", "4242-4242-4242-4242")
			issueTestKey(t, m, "poor", "4000-0000-0000-0341")
			// Two failed attempts, then a paid one, on the same merchant_uid.
			var f1, f2, paid payment
			for i, dst := range []*payment{&f1, &f2, &paid} {
				cust := "poor"
				if i == 2 {
					cust = "rich"
				}
				_, env, p := again(t, m, map[string]any{"customer_uid": cust, "merchant_uid": "dup", "amount": 2000})
				if p.ImpUID == "" {
					t.Fatalf("again %d: %s", i, env.Raw)
				}
				*dst = p
			}
			// Another merchant_uid that must never show up.
			if _, env, p := again(t, m, map[string]any{"customer_uid": "rich", "merchant_uid": "other", "amount": 2000}); p.Status != "paid" {
				t.Fatalf("again other: %s", env.Raw)
			}
			if f1.Status != "failed" || f2.Status != "failed" || paid.Status != "paid" {
				t.Fatalf("setup: %s %s %s", f1.Status, f2.Status, paid.Status)
			}
			check := func(path string, total int64, want []string) {
				t.Helper()
				st, env, pg := getPaged(t, m, path)
				if st != 200 || pg.Total != total || strings.Join(impUIDs(pg.List), ",") != strings.Join(want, ",") {
					t.Errorf("%s: %d %s (want %v)", path, st, env.Raw, want)
				}
				for _, p := range pg.List {
					if p.MerchantUID != "dup" {
						t.Errorf("%s lists %s", path, p.MerchantUID)
					}
				}
			}
			check("/payments/findAll/dup", 3, []string{paid.ImpUID, f2.ImpUID, f1.ImpUID})
			check("/payments/findAll/dup/all", 3, []string{paid.ImpUID, f2.ImpUID, f1.ImpUID})
			check("/payments/findAll/dup/failed", 2, []string{f2.ImpUID, f1.ImpUID})
			check("/payments/findAll/dup/failed?sorting=started", 2, []string{f1.ImpUID, f2.ImpUID})
			check("/payments/findAll/dup/paid", 1, []string{paid.ImpUID})
			check("/payments/findAll/dup/failed?limit=1", 2, []string{f2.ImpUID})
			check("/payments/findAll/dup/failed?limit=1&page=2", 2, []string{f1.ImpUID})
			if _, env, pg := getPaged(t, m, "/payments/findAll/dup/failed?limit=1&page=1"); pg.Next != 2 || pg.Previous != 0 {
				t.Errorf("page 1 links: %s", env.Raw)
			}
			if _, env, pg := getPaged(t, m, "/payments/findAll/dup/failed?limit=1&page=2"); pg.Next != 0 || pg.Previous != 1 {
				t.Errorf("page 2 links: %s", env.Raw)
			}
			for _, path := range []string{"/payments/findAll/dup/cancelled", "/payments/findAll/dup/ready", "/payments/findAll/nope/paid"} {
				if st, env := m.Do(t, "GET", path, nil); st != 404 || env.Code != -1 || env.Msg() != billing.MsgPaymentNotFound || string(env.Response) != "null" {
					t.Errorf("%s: %d %s", path, st, env.Raw)
				}
			}
			for _, path := range []string{"/payments/findAll/dup/bogus", "/payments/findAll/dup/paid?limit=1001", "/payments/findAll/dup?page=-1"} {
				if st, env := m.Do(t, "GET", path, nil); st != 400 || env.Code != -1 {
					t.Errorf("%s: %d %s", path, st, env.Raw)
				}
			}

			find := func(path string) (int, apptest.Envelope, payment) {
				t.Helper()
				st, env := m.Do(t, "GET", path, nil)
				var p payment
				if st == 200 {
					env.Into(t, &p)
				}
				return st, env, p
			}
			for path, want := range map[string]string{
				"/payments/find/dup":                          paid.ImpUID,
				"/payments/find/dup/paid":                     paid.ImpUID,
				"/payments/find/dup/failed":                   f2.ImpUID,
				"/payments/find/dup/failed?sorting=started":   f1.ImpUID,
				"/payments/find/dup/all?sorting=started":      f1.ImpUID,
				"/payments/find/dup/failed/?sorting=-started": f2.ImpUID,
			} {
				if st, env, p := find(path); st != 200 || p.ImpUID != want {
					t.Errorf("%s: %d %s (want %s)", path, st, env.Raw, want)
				}
			}
			for _, path := range []string{"/payments/find/dup/cancelled", "/payments/find/dup/ready", "/payments/find/other/failed"} {
				if st, env, _ := find(path); st != 404 || env.Code != -1 || env.Msg() != billing.MsgPaymentNotFound || string(env.Response) != "null" {
					t.Errorf("%s: %d %s", path, st, env.Raw)
				}
			}
			// After a cancel the paid filter no longer matches it, the cancelled one does.
			if st, env, _ := cancel(t, m, map[string]any{"imp_uid": paid.ImpUID, "amount": 500}); st != 200 || env.Code != 0 {
				t.Fatalf("cancel: %d %s", st, env.Raw)
			}
			if st, env, _ := find("/payments/find/dup/paid"); st != 404 {
				t.Errorf("find paid after cancel: %d %s", st, env.Raw)
			}
			if st, env, p := find("/payments/find/dup/cancelled"); st != 200 || p.ImpUID != paid.ImpUID || p.CancelAmount != 500 {
				t.Errorf("find cancelled: %d %s", st, env.Raw)
			}
			check("/payments/findAll/dup/cancelled", 1, []string{paid.ImpUID})
			if st, env := m.Do(t, "GET", "/payments/findAll/dup/paid", nil); st != 404 {
				t.Errorf("findAll paid after cancel: %d %s", st, env.Raw)
			}
		})
	}
}

// TestCustomerPaymentsPaging: GET /subscribe/customers/{uid}/payments pages
// 20 at a time over every payment of that customer (any status).
func TestCustomerPaymentsPaging(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "cp", "4242-4242-4242-4242")
			issueTestKey(t, m, "someone_else", "4242-4242-4242-4242")
			const n = 23
			mine := map[string]string{} // imp_uid → status
			for i := 0; i < n; i++ {
				// amount 1013 is declined by the test PG: failed payments are listed too.
				_, env, p := again(t, m, map[string]any{"customer_uid": "cp", "merchant_uid": fmt.Sprintf("cp-%02d", i), "amount": 1000 + i})
				if p.ImpUID == "" {
					t.Fatalf("again %d: %s", i, env.Raw)
				}
				mine[p.ImpUID] = p.Status
			}
			for i := 0; i < 2; i++ {
				if _, env, p := again(t, m, map[string]any{"customer_uid": "someone_else", "merchant_uid": fmt.Sprintf("se-%d", i), "amount": 1000}); p.Status != "paid" {
					t.Fatalf("again someone_else: %s", env.Raw)
				}
			}
			base := "/subscribe/customers/cp/payments"
			pages := []struct {
				query          string
				size, prev, nx int
			}{
				{"", 20, 0, 2},
				{"?page=1", 20, 0, 2},
				{"?page=2", 3, 1, 0},
				{"?page=3", 0, 2, 0},
				{"?page=2&limit=100", 3, 1, 0}, // at most 20 a page, whatever limit says
			}
			seen := map[string]bool{}
			failed := 0
			for _, pc := range pages {
				st, env, pg := getPaged(t, m, base+pc.query)
				if st != 200 || pg.Total != n || len(pg.List) != pc.size || pg.Previous != pc.prev || pg.Next != pc.nx || pg.List == nil {
					t.Errorf("%s: %d %s", pc.query, st, env.Raw)
					continue
				}
				if pc.query != "?page=1" && pc.query != "?page=2&limit=100" {
					for _, p := range pg.List {
						if seen[p.ImpUID] || mine[p.ImpUID] == "" || p.CustomerUID == nil || *p.CustomerUID != "cp" || mine[p.ImpUID] != p.Status {
							t.Errorf("%s lists %+v", pc.query, p)
						}
						seen[p.ImpUID] = true
						if p.Status == "failed" {
							failed++
						}
					}
				}
			}
			if len(seen) != n || failed != 1 {
				t.Errorf("the pages hold %d of %d payments (%d failed, want 1)", len(seen), n, failed)
			}
			if st, env := m.Do(t, "GET", base+"?page=abc", nil); st != 400 || env.Code != -1 {
				t.Errorf("page abc: %d %s", st, env.Raw)
			}
			if st, env := m.Do(t, "GET", base+"?page=100001", nil); st != 400 || env.Code != -1 {
				t.Errorf("page 100001: %d %s", st, env.Raw)
			}
			if st, env := m.Do(t, "GET", "/subscribe/customers/nobody/payments", nil); st != 404 || env.Code != -1 || env.Msg() != billing.MsgCustomerNotFound("nobody") {
				t.Errorf("unknown customer: %d %s", st, env.Raw)
			}
			if st, env, pg := getPaged(t, m, "/subscribe/customers/someone_else/payments"); st != 200 || pg.Total != 2 || pg.Next != 0 {
				t.Errorf("someone_else: %d %s", st, env.Raw)
			}
		})
	}
}
