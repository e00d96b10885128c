package schedule_test

import (
	"encoding/json"
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
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type sched struct {
	CustomerUID    string  `json:"customer_uid"`
	MerchantUID    string  `json:"merchant_uid"`
	ImpUID         *string `json:"imp_uid"`
	ScheduleAt     int64   `json:"schedule_at"`
	ExecutedAt     int64   `json:"executed_at"`
	RevokedAt      int64   `json:"revoked_at"`
	Amount         int64   `json:"amount"`
	Currency       string  `json:"currency"`
	Name           *string `json:"name"`
	BuyerName      *string `json:"buyer_name"`
	ScheduleStatus string  `json:"schedule_status"`
	PaymentStatus  *string `json:"payment_status"`
	FailReason     *string `json:"fail_reason"`
}

type pagedScheds struct {
	Total    int64   `json:"total"`
	Previous int     `json:"previous"`
	Next     int     `json:"next"`
	List     []sched `json:"list"`
}

type payment struct {
	ImpUID           string  `json:"imp_uid"`
	MerchantUID      string  `json:"merchant_uid"`
	Status           string  `json:"status"`
	Amount           int64   `json:"amount"`
	Channel          string  `json:"channel"`
	CustomerUIDUsage *string `json:"customer_uid_usage"`
	FailReason       *string `json:"fail_reason"`
}

func issueKey(t *testing.T, m *apptest.Merchant, uid, card string) {
	t.Helper()
	st, env := m.Do(t, "POST", "/subscribe/customers/"+uid, url.Values{"pg": {"testpg"}, "card_number": {card}, "expiry": {"2030-12"},
		"birth": {"900101"}, "pwd_2digit": {"00"}, "customer_name": {"홍길동"}})
	if st != 200 || env.Code != 0 {
		t.Fatalf("issue key %s: %d %s", uid, st, env.Raw)
	}
}

func clockNow(t *testing.T, s *apptest.Server) int64 {
	t.Helper()
	st, env := s.Do(t, "GET", "/billkey/clock", "", nil)
	if st != 200 {
		t.Fatalf("clock: %d %s", st, env.Raw)
	}
	var c struct {
		Now int64 `json:"now"`
	}
	env.Into(t, &c)
	return c.Now
}

// advance moves the shared test clock and renews the merchants' tokens
// (they expire with the clock).
func advance(t *testing.T, s *apptest.Server, secs int64, ms ...*apptest.Merchant) {
	t.Helper()
	st, env := s.Do(t, "POST", "/billkey/clock/advance", "", map[string]int64{"seconds": secs})
	if st != 200 || env.Code != 0 {
		t.Fatalf("advance: %d %s", st, env.Raw)
	}
	for _, m := range ms {
		renew(t, s, m)
	}
}

func renew(t *testing.T, s *apptest.Server, m *apptest.Merchant) {
	t.Helper()
	st, env := s.Do(t, "POST", "/users/getToken", "", map[string]any{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
	if st != 200 || env.Code != 0 {
		t.Fatalf("getToken: %d %s", st, env.Raw)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.Into(t, &tok)
	m.Token = tok.AccessToken
}

func getSched(t *testing.T, m *apptest.Merchant, uid string) sched {
	t.Helper()
	st, env := m.Do(t, "GET", "/subscribe/payments/schedule/"+url.PathEscape(uid), nil)
	if st != 200 || env.Code != 0 {
		t.Fatalf("get schedule %s: %d %s", uid, st, env.Raw)
	}
	var s sched
	env.Into(t, &s)
	return s
}

// waitExecuted polls until the schedule is executed (bounded).
func waitExecuted(t *testing.T, m *apptest.Merchant, uid string) sched {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := getSched(t, m, uid)
		if s.ScheduleStatus == "executed" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s not executed: %+v", uid, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// receiver is a loopback webhook receiver that can refuse.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	refuse bool
	got    []hook
}

type hook struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		refuse := r.refuse
		if !refuse {
			r.got = append(r.got, hook{req.Header.Clone(), b})
		}
		r.mu.Unlock()
		if refuse {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setRefuse(v bool) {
	r.mu.Lock()
	r.refuse = v
	r.mu.Unlock()
}

func (r *receiver) hooks() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.got...)
}

func (r *receiver) bodies(t *testing.T) []map[string]string {
	var out []map[string]string
	for _, h := range r.hooks() {
		var m map[string]string
		if err := json.Unmarshal(h.Body, &m); err != nil {
			t.Fatalf("webhook body %q: %v", h.Body, err)
		}
		out = append(out, m)
	}
	return out
}

func setWebhook(t *testing.T, s *apptest.Server, m *apptest.Merchant, u, ct string) {
	t.Helper()
	err := s.App.Store.Write(t.Context(), func(q store.Q) error { return q.SetMerchantWebhook(t.Context(), m.ID, u, ct) })
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
