package schedule_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"billkey/internal/accounts"
	simtestpg "billkey/internal/pgsim/testpg"
	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/pgtest"
)

// TestTenThousandSchedulesTwoNodes schedules 10,000 charges over a
// simulated month on PostgreSQL with two billkey nodes sharing the database
// and one test PG hosted here, advances the clock past the month, and checks
// every schedule was charged exactly once against the PG's own ledger.
func TestTenThousandSchedulesTwoNodes(t *testing.T) {
	const customers, perCustomer = 100, 100
	const total = customers * perCustomer
	dir := t.TempDir()
	var h atomic.Value
	pgsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().(http.Handler).ServeHTTP(w, r) }))
	defer pgsrv.Close()
	sim, err := simtestpg.New(simtestpg.Config{DBPath: filepath.Join(dir, "testpg.db"), PublicURL: pgsrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	h.Store(sim.Handler())

	dsn := pgtest.DSN(t)
	a := apptest.Start(t, apptest.Options{Engine: "postgres", DatabaseURL: dsn})
	b := secondNode(t, a, dsn)
	ctx := t.Context()
	mer, cred, err := a.App.Accounts.CreateMerchant(ctx, "scale", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.App.Accounts.AddChannel(ctx, mer.ID, accounts.ChannelSpec{Provider: "testpg", MID: "shared", Default: true,
		BaseURL: pgsrv.URL, Credentials: map[string]string{"secret": "test"}}); err != nil {
		t.Fatal(err)
	}
	ma := &node{s: a, m: &apptest.Merchant{ID: mer.ID, Code: mer.Code, Cred: cred}}
	renew(t, a, ma.m)
	mb := &node{s: b, m: &apptest.Merchant{ID: mer.ID, Code: mer.Code, Cred: cred}}
	renew(t, b, mb.m)

	start := clockNow(t, a)
	month := int64(30 * 24 * 3600)
	var wg sync.WaitGroup
	errs := make(chan error, customers)
	sem := make(chan struct{}, 8)
	for c := 0; c < customers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			m := ma
			if c%2 == 1 {
				m = mb
			}
			uid := fmt.Sprintf("c%03d", c)
			st, env := m.Do(t, "POST", "/subscribe/customers/"+uid, map[string]any{"pg": "testpg", "card_number": "4242-4242-4242-4242", "expiry": "2030-12"})
			if st != 200 || env.Code != 0 {
				errs <- fmt.Errorf("issue %s: %d %s", uid, st, env.Raw)
				return
			}
			items := make([]map[string]any, perCustomer)
			for i := range items {
				n := c*perCustomer + i
				items[i] = map[string]any{"merchant_uid": fmt.Sprintf("sub_%05d", n), "amount": 1000 + n%7*100,
					"schedule_at": start + 60 + int64(n)*month/total, "name": "월 구독"}
			}
			st, env = m.Do(t, "POST", "/subscribe/payments/schedule", map[string]any{"customer_uid": uid, "schedules": items})
			if st != 200 || env.Code != 0 {
				errs <- fmt.Errorf("schedule %s: %d %.300s", uid, st, env.Raw)
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("created %d schedules", total)

	began := time.Now()
	advance(t, a, month+3600)
	renew(t, a, ma.m)
	// b picks the shared offset up within half a second; asking its clock
	// syncs it now, so the token it hands out is judged by the moved clock.
	if now := clockNow(t, b); now < start+month {
		t.Fatalf("node b's clock %d has not moved past %d", now, start+month)
	}
	renew(t, b, mb.m)
	executed := func() int64 {
		st, env := mb.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d&schedule_status=executed&limit=1",
			start, start+month+7200), nil)
		if st != 200 {
			t.Fatalf("list: %d %s", st, env.Raw)
		}
		var p pagedScheds
		env.Into(t, &p)
		return p.Total
	}
	deadline := time.Now().Add(4 * time.Minute)
	for n := executed(); n < total; n = executed() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d executed after %v", n, total, time.Since(began))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("all %d executed in %v", total, time.Since(began))

	// Every schedule: executed, paid, one imp_uid; collected through the API.
	impBySched := map[string]string{}
	for page := 1; ; page++ {
		st, env := ma.Do(t, "GET", fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d&limit=1000&page=%d&sorting=scheduled",
			start, start+month+7200, page), nil)
		if st != 200 {
			t.Fatalf("list: %d %s", st, env.Raw)
		}
		var p pagedScheds
		env.Into(t, &p)
		for _, s := range p.List {
			if s.ScheduleStatus != "executed" || s.PaymentStatus == nil || *s.PaymentStatus != "paid" || s.ImpUID == nil {
				t.Fatalf("schedule %+v", s)
			}
			impBySched[s.MerchantUID] = *s.ImpUID
		}
		if p.Next == 0 {
			break
		}
	}
	if len(impBySched) != total {
		t.Fatalf("%d schedules listed, want %d", len(impBySched), total)
	}

	// The PG's own ledger: exactly one charge per schedule, nothing else.
	ledger, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "testpg.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	rows, err := ledger.Query(`SELECT order_id, COUNT(*), SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) FROM tp_ledger WHERE kind = 'charge' GROUP BY order_id`)
	if err != nil {
		t.Fatal(err)
	}
	charged := map[string]bool{}
	for rows.Next() {
		var id string
		var n, paid int
		if err := rows.Scan(&id, &n, &paid); err != nil {
			t.Fatal(err)
		}
		if n != 1 || paid != 1 {
			t.Errorf("order %s: %d charges, %d paid", id, n, paid)
		}
		charged[id] = true
	}
	rows.Close()
	if len(charged) != total {
		t.Fatalf("the PG charged %d orders, want %d", len(charged), total)
	}
	for uid, imp := range impBySched {
		if !charged[imp] {
			t.Fatalf("schedule %s (imp %s) has no charge at the PG", uid, imp)
		}
	}
	// And billkey recorded one scheduled payment per merchant_uid.
	var n, distinct int
	if err := a.App.Store.Read().QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT merchant_uid) FROM payments WHERE merchant_id = $1 AND customer_uid_usage = 'payment.scheduled'`,
		mer.ID).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total {
		t.Fatalf("billkey has %d scheduled payments over %d merchant_uids, want %d", n, distinct, total)
	}
	_ = store.ScheduleExecuted
}

// secondNode starts another billkey on a's database with a's master key.
func secondNode(t *testing.T, a *apptest.Server, dsn string) *apptest.Server {
	t.Helper()
	key, err := os.ReadFile(a.App.Cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return apptest.Start(t, apptest.Options{Engine: "postgres", DatabaseURL: dsn, DataDir: dir})
}

// node calls one billkey as a merchant.
type node struct {
	s *apptest.Server
	m *apptest.Merchant
}

func (n *node) Do(t *testing.T, method, path string, body any) (int, apptest.Envelope) {
	t.Helper()
	return n.s.Do(t, method, path, n.m.Token, body)
}
