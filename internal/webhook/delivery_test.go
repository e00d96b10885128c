package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
	"billkey/internal/webhook"
)

// standardSignature is the Standard Webhooks v1 signature, written here from
// the scheme rather than with billkey's code: HMAC-SHA256, keyed with the
// base64-decoded part of the whsec_ secret, over "id.timestamp.body",
// base64-encoded and prefixed "v1,".
func standardSignature(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q lacks the whsec_ prefix", secret)
	}
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// The published Standard Webhooks test vector, for the test's own scheme and
// for billkey's Signature.
func TestSignatureKnownAnswer(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	if got := standardSignature(t, secret, id, strconv.Itoa(ts), []byte(body)); got != want {
		t.Fatalf("the test's scheme: %s, want %s", got, want)
	}
	got, err := webhook.Signature(secret, id, ts, []byte(body))
	if err != nil || got != want {
		t.Fatalf("webhook.Signature: %q %v, want %s", got, err, want)
	}
}

func issue(t *testing.T, m *apptest.Merchant, uid, card string) {
	t.Helper()
	st, env := m.Do(t, "POST", "/subscribe/customers/"+uid, url.Values{"pg": {"testpg"}, "card_number": {card}, "expiry": {"2030-12"}})
	if st != 200 || env.Code != 0 {
		t.Fatalf("issue %s: %d %s", uid, st, env.Raw)
	}
}

func again(t *testing.T, m *apptest.Merchant, body map[string]any, wantStatus string) string {
	t.Helper()
	st, env := m.Do(t, "POST", "/subscribe/payments/again", body)
	var p struct {
		ImpUID string `json:"imp_uid"`
		Status string `json:"status"`
	}
	if st != 200 || env.Code != 0 {
		t.Fatalf("again %v: %d %s", body, st, env.Raw)
	}
	env.Into(t, &p)
	if p.Status != wantStatus || p.ImpUID == "" {
		t.Fatalf("again %v: %s, want status %s", body, env.Raw, wantStatus)
	}
	return p.ImpUID
}

func setHook(t *testing.T, s *apptest.Server, m *apptest.Merchant, u, ct string) {
	t.Helper()
	if err := s.App.Store.Write(t.Context(), func(q store.Q) error { return q.SetMerchantWebhook(t.Context(), m.ID, u, ct) }); err != nil {
		t.Fatal(err)
	}
}

// impOf returns the imp_uid of a JSON or form webhook body.
func impOf(r received) string {
	var b map[string]string
	if json.Unmarshal(r.body, &b) == nil {
		return b["imp_uid"]
	}
	v, _ := url.ParseQuery(string(r.body))
	return v.Get("imp_uid")
}

// waitHook waits for a webhook about imp_uid and returns the first one.
func waitHook(t *testing.T, rcv *receiver, impUID string) received {
	t.Helper()
	var got received
	waitFor(t, "webhook for "+impUID, func() bool {
		for _, r := range rcv.all() {
			if impOf(r) == impUID {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

func eventsOf(t *testing.T, m *apptest.Merchant, impUID string) []struct {
	EventID     string `json:"event_id"`
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
} {
	t.Helper()
	st, env := m.Do(t, "GET", "/billkey/webhooks?imp_uid="+url.QueryEscape(impUID), nil)
	if st != 200 || env.Code != 0 {
		t.Fatalf("list webhooks: %d %s", st, env.Raw)
	}
	var p struct {
		List []struct {
			EventID     string `json:"event_id"`
			URL         string `json:"url"`
			ContentType string `json:"content_type"`
			Body        string `json:"body"`
		} `json:"list"`
	}
	env.Into(t, &p)
	return p.List
}

// Content type, routing and signing of deliveries, observed by loopback receivers.
func TestWebhookDeliveryShapes(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{Engine: engine})

			t.Run("form", func(t *testing.T) {
				m := s.NewMerchant(t)
				rcv := &receiver{}
				srv := httptest.NewServer(rcv)
				defer srv.Close()
				setHook(t, s, m, srv.URL, "form")
				issue(t, m, "k", "4242-4242-4242-4242")
				imp := again(t, m, map[string]any{"customer_uid": "k", "merchant_uid": "form_1", "amount": 1000}, "paid")
				r := waitHook(t, rcv, imp)
				if ct := r.h.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
					t.Fatalf("Content-Type %q", ct)
				}
				if json.Valid(r.body) {
					t.Fatalf("a form webhook body is JSON: %s", r.body)
				}
				v, err := url.ParseQuery(string(r.body))
				if err != nil || len(v) != 3 || v.Get("imp_uid") != imp || v.Get("merchant_uid") != "form_1" || v.Get("status") != "paid" {
					t.Fatalf("form body %q: %v %v", r.body, v, err)
				}
				if evs := eventsOf(t, m, imp); len(evs) != 1 || evs[0].ContentType != "form" || evs[0].Body != string(r.body) {
					t.Fatalf("events: %+v", evs)
				}
			})

			t.Run("notice_url", func(t *testing.T) {
				m := s.NewMerchant(t)
				merchantRcv, noticeRcv := &receiver{}, &receiver{}
				msrv, nsrv := httptest.NewServer(merchantRcv), httptest.NewServer(noticeRcv)
				defer msrv.Close()
				defer nsrv.Close()
				setHook(t, s, m, msrv.URL, "json")
				issue(t, m, "k", "4242-4242-4242-4242")
				noticeURL := nsrv.URL + "/hooks/iamport?shop=1"
				imp1 := again(t, m, map[string]any{"customer_uid": "k", "merchant_uid": "n_1", "amount": 1000, "notice_url": noticeURL}, "paid")
				r := waitHook(t, noticeRcv, imp1)
				var b map[string]string
				if err := json.Unmarshal(r.body, &b); err != nil || b["merchant_uid"] != "n_1" || b["status"] != "paid" {
					t.Fatalf("notice_url body %s: %v", r.body, err)
				}
				if evs := eventsOf(t, m, imp1); len(evs) != 1 || evs[0].URL != noticeURL {
					t.Fatalf("events of %s: %+v", imp1, evs)
				}
				// Without notice_url the next one goes to the merchant's URL; neither receiver gets the other's.
				imp2 := again(t, m, map[string]any{"customer_uid": "k", "merchant_uid": "n_2", "amount": 1000}, "paid")
				waitHook(t, merchantRcv, imp2)
				if evs := eventsOf(t, m, imp2); len(evs) != 1 || evs[0].URL != msrv.URL {
					t.Fatalf("events of %s: %+v", imp2, evs)
				}
				for _, r := range merchantRcv.all() {
					if impOf(r) != imp2 {
						t.Fatalf("the merchant URL got %s", r.body)
					}
				}
				for _, r := range noticeRcv.all() {
					if impOf(r) != imp1 {
						t.Fatalf("notice_url got %s", r.body)
					}
				}
			})

			t.Run("signing", func(t *testing.T) {
				m := s.NewMerchant(t)
				rcv := &receiver{}
				srv := httptest.NewServer(rcv)
				defer srv.Close()
				setHook(t, s, m, srv.URL, "json")
				issue(t, m, "k", "4242-4242-4242-4242")
				newSecret := func() string {
					st, env := m.Do(t, "POST", "/billkey/webhooks/secret", nil)
					var sec struct {
						Secret string `json:"secret"`
					}
					if st != 200 || env.Code != 0 {
						t.Fatalf("secret: %d %s", st, env.Raw)
					}
					env.Into(t, &sec)
					return sec.Secret
				}
				checkSigned := func(r received, secret string) {
					t.Helper()
					id, ts, sig := r.h.Get("webhook-id"), r.h.Get("webhook-timestamp"), r.h.Get("webhook-signature")
					if !strings.HasPrefix(id, "msg_") || ts == "" || sig == "" {
						t.Fatalf("signature headers: %v", r.h)
					}
					n, err := strconv.ParseInt(ts, 10, 64)
					if err != nil || time.Since(time.Unix(n, 0)).Abs() > 10*time.Minute {
						t.Fatalf("webhook-timestamp %q is not the real time of the attempt", ts)
					}
					want := standardSignature(t, secret, id, ts, r.body)
					found := false
					for _, s := range strings.Fields(sig) {
						found = found || s == want
					}
					if !found {
						t.Fatalf("webhook-signature %q, want %q (body %s)", sig, want, r.body)
					}
				}

				sec1 := newSecret()
				imp1 := again(t, m, map[string]any{"customer_uid": "k", "merchant_uid": "s_1", "amount": 1000}, "paid")
				checkSigned(waitHook(t, rcv, imp1), sec1)

				// A new secret replaces the old one at once.
				sec2 := newSecret()
				if sec2 == sec1 {
					t.Fatal("the same secret twice")
				}
				imp2 := again(t, m, map[string]any{"customer_uid": "k", "merchant_uid": "s_2", "amount": 1000}, "paid")
				r2 := waitHook(t, rcv, imp2)
				checkSigned(r2, sec2)
				if strings.Contains(r2.h.Get("webhook-signature"), standardSignature(t, sec1, r2.h.Get("webhook-id"), r2.h.Get("webhook-timestamp"), r2.body)) {
					t.Fatal("signed with the replaced secret")
				}

				// DELETE turns signing off: webhook-id stays, the timestamp and signature go.
				st, env := m.Do(t, "DELETE", "/billkey/webhooks/secret", nil)
				if st != 200 || env.Code != 0 || !strings.Contains(string(env.Response), `"signing":false`) {
					t.Fatalf("delete secret: %d %s", st, env.Raw)
				}
				imp3 := again(t, m, map[string]any{"customer_uid": "k", "merchant_uid": "s_3", "amount": 1000}, "paid")
				r3 := waitHook(t, rcv, imp3)
				if id := r3.h.Get("webhook-id"); !strings.HasPrefix(id, "msg_") || id == r2.h.Get("webhook-id") {
					t.Fatalf("webhook-id %q after signing was turned off", id)
				}
				for _, h := range []string{"webhook-signature", "webhook-timestamp"} {
					if _, ok := r3.h[http.CanonicalHeaderKey(h)]; ok {
						t.Fatalf("%s sent after signing was turned off: %v", h, r3.h)
					}
				}
				// A resend of an event first delivered signed goes out unsigned now, with its own webhook-id.
				ev := eventsOf(t, m, imp1)
				if len(ev) != 1 {
					t.Fatalf("events of %s: %+v", imp1, ev)
				}
				before := len(rcv.all())
				st, env = m.Do(t, "POST", "/billkey/webhooks/"+ev[0].EventID+"/resend", nil)
				if st != 200 || env.Code != 0 {
					t.Fatalf("resend: %d %s", st, env.Raw)
				}
				all := rcv.all()
				if len(all) != before+1 {
					t.Fatalf("resend: %d → %d deliveries", before, len(all))
				}
				last := all[len(all)-1]
				if last.h.Get("webhook-id") != ev[0].EventID || last.h.Get("webhook-signature") != "" || last.h.Get("webhook-timestamp") != "" || impOf(last) != imp1 {
					t.Fatalf("unsigned resend: %v %s", last.h, last.body)
				}
			})
		})
	}
}

// probe is a receiver that, while the webhook request is still open, reads
// the payment (and its schedule) over the API with a token of its own.
type probe struct {
	s    *apptest.Server
	cred struct{ key, secret string }
	mu   sync.Mutex
	seen []probed
}

type probed struct {
	hook          map[string]string
	paymentStatus string
	scheduleState string // schedule_status/payment_status, "" when the merchant_uid has no schedule
	err           string
}

func (p *probe) call(method, path, token string, body any) (int, apptest.Envelope, error) {
	return apptest.Call(p.s.Client, method, p.s.URL+path, token, body)
}

func (p *probe) look(b map[string]string) probed {
	out := probed{hook: b}
	st, env, err := p.call("POST", "/users/getToken", "", map[string]string{"imp_key": p.cred.key, "imp_secret": p.cred.secret})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || st != 200 || json.Unmarshal(env.Response, &tok) != nil {
		out.err = fmt.Sprintf("getToken: %d %s %v", st, env.Raw, err)
		return out
	}
	st, env, err = p.call("GET", "/payments/"+url.PathEscape(b["imp_uid"]), tok.AccessToken, nil)
	var pay struct {
		Status string `json:"status"`
	}
	if err != nil || st != 200 || json.Unmarshal(env.Response, &pay) != nil {
		out.err = fmt.Sprintf("GET /payments: %d %s %v", st, env.Raw, err)
		return out
	}
	out.paymentStatus = pay.Status
	st, env, err = p.call("GET", "/subscribe/payments/schedule/"+url.PathEscape(b["merchant_uid"]), tok.AccessToken, nil)
	if err == nil && st == 200 {
		var sc struct {
			ScheduleStatus string  `json:"schedule_status"`
			PaymentStatus  *string `json:"payment_status"`
			ImpUID         *string `json:"imp_uid"`
		}
		if json.Unmarshal(env.Response, &sc) == nil {
			out.scheduleState = sc.ScheduleStatus + "/"
			if sc.PaymentStatus != nil && sc.ImpUID != nil && *sc.ImpUID == b["imp_uid"] {
				out.scheduleState += *sc.PaymentStatus
			}
		}
	}
	return out
}

func (p *probe) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	var b map[string]string
	if err := json.Unmarshal(raw, &b); err != nil {
		p.mu.Lock()
		p.seen = append(p.seen, probed{err: fmt.Sprintf("body %q: %v", raw, err)})
		p.mu.Unlock()
		w.WriteHeader(200)
		return
	}
	got := p.look(b)
	p.mu.Lock()
	p.seen = append(p.seen, got)
	p.mu.Unlock()
	w.WriteHeader(200)
}

func (p *probe) about(impUID, status string) (probed, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.seen {
		if x.err != "" || (x.hook["imp_uid"] == impUID && x.hook["status"] == status) {
			return x, true
		}
	}
	return probed{}, false
}

// When a webhook arrives, the API already shows what it announces: the
// payment's status (paid, cancelled, scheduled paid and failed) and, for a
// scheduled charge, the executed schedule.
func TestWebhookStateVisibleOnArrival(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			p := &probe{s: s}
			p.cred.key, p.cred.secret = m.Cred.ImpKey, m.Cred.ImpSecret
			srv := httptest.NewServer(p)
			defer srv.Close()
			setHook(t, s, m, srv.URL, "json")
			issue(t, m, "ok", "4242-4242-4242-4242")
			issue(t, m, "poor", "4000-0000-0000-0341")

			check := func(impUID, status, schedule string) {
				t.Helper()
				var got probed
				waitFor(t, status+" webhook for "+impUID, func() bool {
					var ok bool
					got, ok = p.about(impUID, status)
					return ok
				})
				if got.err != "" {
					t.Fatalf("probe: %s", got.err)
				}
				if got.paymentStatus != status || got.scheduleState != schedule || len(got.hook) != 3 {
					t.Fatalf("webhook %v arrived while the payment read %q and the schedule %q (want %q)", got.hook, got.paymentStatus, got.scheduleState, schedule)
				}
			}

			imp := again(t, m, map[string]any{"customer_uid": "ok", "merchant_uid": "v_1", "amount": 1000}, "paid")
			check(imp, "paid", "")
			st, env := m.Do(t, "POST", "/payments/cancel", map[string]any{"imp_uid": imp, "reason": "test", "enable_webhook": true})
			if st != 200 || env.Code != 0 {
				t.Fatalf("cancel: %d %s", st, env.Raw)
			}
			check(imp, "cancelled", "")

			st, env = s.Do(t, "GET", "/billkey/clock", "", nil)
			var c struct {
				Now int64 `json:"now"`
			}
			env.Into(t, &c)
			for _, sc := range []struct{ cust, uid string }{{"ok", "v_s1"}, {"poor", "v_s2"}} {
				st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": sc.cust,
					"schedules": []map[string]any{{"merchant_uid": sc.uid, "schedule_at": c.Now + 60, "amount": 1000}}})
				if st != 200 || env.Code != 0 {
					t.Fatalf("schedule %s: %d %s", sc.uid, st, env.Raw)
				}
			}
			if st, env := s.Do(t, "POST", "/billkey/clock/advance", "", map[string]any{"seconds": 120}); st != 200 {
				t.Fatalf("advance: %d %s", st, env.Raw)
			}
			m.Token = token(t, s, m)
			for _, sc := range []struct{ uid, status string }{{"v_s1", "paid"}, {"v_s2", "failed"}} {
				var impUID string
				waitFor(t, sc.uid+" executed", func() bool {
					st, env := m.Do(t, "GET", "/subscribe/payments/schedule/"+sc.uid, nil)
					var g struct {
						ImpUID *string `json:"imp_uid"`
					}
					if st != 200 {
						return false
					}
					env.Into(t, &g)
					if g.ImpUID != nil {
						impUID = *g.ImpUID
					}
					return impUID != ""
				})
				check(impUID, sc.status, "executed/"+sc.status)
			}
		})
	}
}
