package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/pgtest"
	"billkey/internal/webhook"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type receiver struct {
	mu     sync.Mutex
	refuse bool
	got    []received
}

type received struct {
	h    http.Header
	body []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	r.got = append(r.got, received{req.Header.Clone(), b})
}

func (r *receiver) set(refuse bool) { r.mu.Lock(); r.refuse = refuse; r.mu.Unlock() }
func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type event struct {
	EventID    string `json:"event_id"`
	ImpUID     string `json:"imp_uid"`
	State      string `json:"state"`
	Attempts   int64  `json:"attempts"`
	AttemptLog []struct {
		Attempt    int64   `json:"attempt"`
		Manual     bool    `json:"manual"`
		StatusCode int64   `json:"status_code"`
		Error      *string `json:"error"`
	} `json:"attempt_log"`
}

func token(t *testing.T, s *apptest.Server, m *apptest.Merchant) string {
	t.Helper()
	st, env := s.Do(t, "POST", "/users/getToken", "", map[string]any{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
	if st != 200 || env.Code != 0 {
		t.Fatalf("getToken: %d %s", st, env.Raw)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.Into(t, &tok)
	return tok.AccessToken
}

func events(t *testing.T, s *apptest.Server, tok string) []event {
	t.Helper()
	st, env := s.Do(t, "GET", "/billkey/webhooks?limit=100", tok, nil)
	if st != 200 || env.Code != 0 {
		t.Fatalf("list webhooks: %d %s", st, env.Raw)
	}
	var p struct {
		Total int64   `json:"total"`
		List  []event `json:"list"`
	}
	env.Into(t, &p)
	return p.List
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A receiver that refuses the first attempts gets every notification, signed,
// once it recovers, and a billkey restart in between loses none.
func TestWebhooksSurviveRefusalsAndRestart(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			rcv := &receiver{refuse: true}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			dir := t.TempDir()
			dsn := apptest.DatabaseURL(t, engine, dir)
			s := apptest.Start(t, apptest.Options{Engine: engine, DataDir: dir, DatabaseURL: dsn})
			m := s.NewMerchant(t)
			if err := s.App.Store.Write(t.Context(), func(q store.Q) error { return q.SetMerchantWebhook(t.Context(), m.ID, srv.URL, "json") }); err != nil {
				t.Fatal(err)
			}
			st, env := m.Do(t, "POST", "/billkey/webhooks/secret", nil)
			if st != 200 || env.Code != 0 {
				t.Fatalf("secret: %d %s", st, env.Raw)
			}
			var sec struct {
				Secret string `json:"secret"`
			}
			env.Into(t, &sec)
			st, env = m.Do(t, "POST", "/subscribe/customers/k1", url.Values{"pg": {"testpg"}, "card_number": {"4242-4242-4242-4242"}, "expiry": {"2030-12"}})
			if st != 200 || env.Code != 0 {
				t.Fatalf("issue: %d %s", st, env.Raw)
			}
			const n = 5
			imps := map[string]bool{}
			for i := 0; i < n; i++ {
				st, env := m.Do(t, "POST", "/subscribe/payments/again", map[string]any{"customer_uid": "k1", "merchant_uid": fmt.Sprintf("o%d", i), "amount": 1000})
				var p struct {
					ImpUID string `json:"imp_uid"`
					Status string `json:"status"`
				}
				env.Into(t, &p)
				if st != 200 || p.Status != "paid" {
					t.Fatalf("again: %d %s", st, env.Raw)
				}
				imps[p.ImpUID] = true
			}
			// Every notification is refused at least once.
			waitFor(t, "refused attempts", func() bool {
				evs := events(t, s, m.Token)
				if len(evs) != n {
					return false
				}
				for _, e := range evs {
					if e.Attempts < 1 || e.State != store.WebhookPending {
						return false
					}
				}
				return true
			})
			s.Stop()

			s2 := apptest.Start(t, apptest.Options{Engine: engine, DataDir: dir, DatabaseURL: dsn})
			rcv.set(false)
			// Move past any backoff the attempts so far earned.
			if st, env := s2.Do(t, "POST", "/billkey/clock/advance", "", map[string]any{"duration": "2h"}); st != 200 {
				t.Fatalf("advance: %d %s", st, env.Raw)
			}
			tok := token(t, s2, m)
			waitFor(t, "every notification delivered", func() bool {
				ids := map[string]bool{}
				for _, r := range rcv.all() {
					ids[r.h.Get("webhook-id")] = true
				}
				return len(ids) == n
			})
			seen := map[string]bool{}
			for _, r := range rcv.all() {
				if err := webhook.Verify(sec.Secret, r.h, r.body, time.Now(), 5*time.Minute); err != nil {
					t.Fatalf("signature: %v (%s)", err, r.body)
				}
				var b map[string]string
				if err := json.Unmarshal(r.body, &b); err != nil || len(b) != 3 || b["status"] != "paid" || !imps[b["imp_uid"]] {
					t.Fatalf("body %s", r.body)
				}
				seen[b["imp_uid"]] = true
				// The state the webhook announces is already visible.
				st, env := s2.Do(t, "GET", "/payments/"+b["imp_uid"], tok, nil)
				if st != 200 || env.Code != 0 {
					t.Fatalf("payment: %d %s", st, env.Raw)
				}
			}
			if len(seen) != n {
				t.Fatalf("got webhooks for %d payments, want %d", len(seen), n)
			}
			evs := events(t, s2, tok)
			for _, e := range evs {
				if e.State != store.WebhookDelivered || len(e.AttemptLog) < 2 || e.AttemptLog[0].StatusCode != 503 ||
					e.AttemptLog[len(e.AttemptLog)-1].StatusCode != 200 || e.AttemptLog[0].Error == nil {
					t.Fatalf("event log: %+v", e)
				}
			}
			// A manual resend goes out at once with the same webhook-id.
			before := len(rcv.all())
			st, env = s2.Do(t, "POST", "/billkey/webhooks/"+evs[0].EventID+"/resend", tok, nil)
			if st != 200 || env.Code != 0 {
				t.Fatalf("resend: %d %s", st, env.Raw)
			}
			var after event
			env.Into(t, &after)
			all := rcv.all()
			if len(all) != before+1 || all[len(all)-1].h.Get("webhook-id") != evs[0].EventID || !after.AttemptLog[len(after.AttemptLog)-1].Manual {
				t.Fatalf("resend: %d → %d hooks, %+v", before, len(all), after)
			}
			if st, _ := s2.Do(t, "POST", "/billkey/webhooks/msg_nope/resend", tok, nil); st != 404 {
				t.Fatalf("resend of an unknown event: %d", st)
			}
			if st, _ := s2.Do(t, "GET", "/billkey/webhooks?state=nope", tok, nil); st != 400 {
				t.Fatalf("bad state filter: %d", st)
			}
			if st, _ := s2.Do(t, "GET", "/billkey/webhooks", "", nil); st != 401 {
				t.Fatalf("unauthenticated list: %d", st)
			}
		})
	}
}

func TestSignatureVerify(t *testing.T) {
	secret := webhook.NewSecret()
	body := []byte(`{"imp_uid":"imp_1","merchant_uid":"m","status":"paid"}`)
	ts := time.Now().Unix()
	sig, err := webhook.Signature(secret, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", fmt.Sprint(ts))
	h.Set("webhook-signature", "v1,bogus "+sig)
	if err := webhook.Verify(secret, h, body, time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := webhook.Verify(secret, h, append(body, ' '), time.Now(), time.Minute); err == nil {
		t.Fatal("a changed body verified")
	}
	if err := webhook.Verify(secret, h, body, time.Now().Add(time.Hour), time.Minute); err == nil {
		t.Fatal("an old timestamp verified")
	}
	if d := webhook.Backoff(3, time.Hour); d < 72*time.Second || d > 90*time.Second {
		t.Fatalf("backoff(3) = %v", d)
	}
	if d := webhook.Backoff(100, time.Hour); d != time.Hour {
		t.Fatalf("backoff cap = %v", d)
	}
}
