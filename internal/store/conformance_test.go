package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"billkey/internal/store"
	"billkey/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open gives a fresh store per engine: the conformance suite runs every
// test on SQLite and on PostgreSQL.
func open(t *testing.T, engine string) *store.Store {
	t.Helper()
	target := filepath.Join(t.TempDir(), "billkey.db")
	if engine == store.Postgres {
		target = pgtest.DSN(t)
	}
	s, err := store.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Engine() != engine {
		t.Fatalf("engine %s, want %s", s.Engine(), engine)
	}
	return s
}

func eachEngine(t *testing.T, f func(t *testing.T, s *store.Store)) {
	for _, e := range []string{store.SQLite, store.Postgres} {
		t.Run(e, func(t *testing.T) { f(t, open(t, e)) })
	}
}

func merchant(t *testing.T, s *store.Store, code string) store.Merchant {
	t.Helper()
	ctx := context.Background()
	var m store.Merchant
	err := s.Write(ctx, func(q store.Q) error {
		var err error
		m, err = q.InsertMerchant(ctx, store.Merchant{Code: code, Name: "m", WebhookContentType: "json", CreatedAt: 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func payment(m store.Merchant, imp, muid, status string) store.Payment {
	return store.Payment{MerchantID: m.ID, ImpUID: imp, MerchantUID: muid, Status: status, Amount: 1000, Currency: "KRW",
		PayMethod: "card", Channel: "api", StartedAt: 10, UpdatedAt: 10}
}

func insert(s *store.Store, p store.Payment) (store.Payment, error) {
	ctx := context.Background()
	var out store.Payment
	err := s.Write(ctx, func(q store.Q) error {
		var err error
		out, err = q.InsertPayment(ctx, p)
		return err
	})
	return out, err
}

func TestMigrationsAreIdempotent(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		merchant(t, s, "imp00000001")
		if _, err := s.Read().MerchantByCode(context.Background(), "imp00000001"); err != nil {
			t.Fatal(err)
		}
	})
	// Re-opening an existing SQLite file keeps its data.
	path := filepath.Join(t.TempDir(), "b.db")
	s1, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	merchant(t, s1, "imp00000009")
	s1.Close()
	s2, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Read().MerchantByCode(context.Background(), "imp00000009"); err != nil {
		t.Fatal(err)
	}
}

func TestLiveMerchantUIDIsUnique(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		a, b := merchant(t, s, "imp00000001"), merchant(t, s, "imp00000002")
		if _, err := insert(s, payment(a, "imp_1", "order", "failed")); err != nil {
			t.Fatal(err)
		}
		if _, err := insert(s, payment(a, "imp_2", "order", "failed")); err != nil {
			t.Fatalf("two failed attempts share a merchant_uid: %v", err)
		}
		if _, err := insert(s, payment(a, "imp_3", "order", "ready")); err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{"ready", "paid", "cancelled"} {
			if _, err := insert(s, payment(a, "imp_x"+st, "order", st)); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second live %s payment: %v, want ErrConflict", st, err)
			}
		}
		if _, err := insert(s, payment(b, "imp_4", "order", "paid")); err != nil {
			t.Fatalf("another merchant's same merchant_uid: %v", err)
		}
		if _, err := insert(s, payment(b, "imp_1", "other", "paid")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate imp_uid: %v", err)
		}
	})
}

func TestConcurrentInsertsOneWins(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		m := merchant(t, s, "imp00000001")
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := insert(s, payment(m, "imp_c"+string(rune('A'+i)), "same", "ready"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrConflict):
					lost++
				default:
					t.Errorf("unexpected: %v", err)
				}
			}(i)
		}
		wg.Wait()
		if won != 1 || lost != 49 {
			t.Fatalf("won %d lost %d", won, lost)
		}
	})
}

func TestUpdatePaymentIsConditional(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := merchant(t, s, "imp00000001")
		p := payment(m, "imp_1", "o", "ready")
		p.PGState = store.PGStateInflight
		p, err := insert(s, p)
		if err != nil {
			t.Fatal(err)
		}
		settled := p
		settled.Status, settled.PGState, settled.PaidAt, settled.PGTID = "paid", "", 99, "T1"
		err = s.Write(ctx, func(q store.Q) error { _, err := q.UpdatePayment(ctx, settled, store.PGStateInflight, 0); return err })
		if err != nil {
			t.Fatal(err)
		}
		// A second settle (e.g. the reconciler racing the request) changes nothing.
		other := p
		other.Status, other.PGState, other.FailedAt = "failed", "", 5
		err = s.Write(ctx, func(q store.Q) error { _, err := q.UpdatePayment(ctx, other, store.PGStateInflight, 0); return err })
		if !store.IsNotFound(err) {
			t.Fatalf("second settle: %v, want not found", err)
		}
		got, err := s.Read().Payment(ctx, m.ID, "imp_1")
		if err != nil || got.Status != "paid" || got.PGTID != "T1" || got.Cancels == nil {
			t.Fatalf("got %+v %v", got, err)
		}
		// Scoped to the merchant.
		if _, err := s.Read().Payment(ctx, m.ID+1, "imp_1"); !store.IsNotFound(err) {
			t.Fatalf("other merchant read: %v", err)
		}
	})
}

func TestPaymentFilterAndCancels(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := merchant(t, s, "imp00000001")
		for i, st := range []string{"paid", "paid", "failed", "ready"} {
			p := payment(m, "imp_"+string(rune('a'+i)), "o"+string(rune('a'+i)), st)
			p.StartedAt = int64(100 + i)
			p.CustomerUID = "cust"
			if _, err := insert(s, p); err != nil {
				t.Fatal(err)
			}
		}
		ps, total, err := s.Read().Payments(ctx, store.PaymentFilter{MerchantID: m.ID, Status: "paid", Limit: 1})
		if err != nil || total != 2 || len(ps) != 1 || ps[0].ImpUID != "imp_b" {
			t.Fatalf("paid page: %v %d %v", ps, total, err)
		}
		ps, total, _ = s.Read().Payments(ctx, store.PaymentFilter{MerchantID: m.ID, ImpUIDs: []string{"imp_a"}, MerchantUIDs: []string{"od"}, Limit: 10})
		if total != 2 || len(ps) != 2 {
			t.Fatalf("imp or merchant uid: %d", total)
		}
		_, total, _ = s.Read().Payments(ctx, store.PaymentFilter{MerchantID: m.ID, From: 101, To: 102, Sorting: "started", Limit: 10})
		if total != 2 {
			t.Fatalf("range: %d", total)
		}
		p, _ := s.Read().Payment(ctx, m.ID, "imp_a")
		upd := p
		upd.CancelAmount, upd.Status = 300, "cancelled"
		err = s.Write(ctx, func(q store.Q) error {
			if _, err := q.UpdatePayment(ctx, upd, "", 0); err != nil {
				return err
			}
			return q.InsertCancel(ctx, store.Cancel{PaymentID: p.ID, PGTID: "C1", Amount: 300, Reason: "r", CancelledAt: 7, CancellationID: "x"})
		})
		if err != nil {
			t.Fatal(err)
		}
		p, _ = s.Read().Payment(ctx, m.ID, "imp_a")
		if len(p.Cancels) != 1 || p.Cancels[0].Amount != 300 {
			t.Fatalf("cancels: %+v", p.Cancels)
		}
	})
}

func TestCustomerUpsertReplacesKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := merchant(t, s, "imp00000001")
		var ch store.Channel
		s.Write(ctx, func(q store.Q) error {
			var err error
			ch, err = q.InsertChannel(ctx, store.Channel{MerchantID: m.ID, Provider: "testpg", MID: "x", IsDefault: true, CreatedAt: 1})
			return err
		})
		for i, key := range []string{"first", "second"} {
			err := s.Write(ctx, func(q store.Q) error {
				_, err := q.UpsertCustomer(ctx, store.Customer{MerchantID: m.ID, CustomerUID: "u", ChannelID: ch.ID, PGProvider: "testpg",
					PGID: "x", BillingKeyEnc: []byte(key), PayMethod: "card", Inserted: int64(i + 1)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		c, err := s.Read().Customer(ctx, m.ID, "u")
		if err != nil || string(c.BillingKeyEnc) != "second" || c.Inserted != 2 {
			t.Fatalf("%+v %v", c, err)
		}
		cs, _ := s.Read().Customers(ctx, m.ID, []string{"u", "nope"})
		if len(cs) != 1 {
			t.Fatalf("customers: %d", len(cs))
		}
		err = s.Write(ctx, func(q store.Q) error { _, err := q.DeleteCustomer(ctx, m.ID+1, "u"); return err })
		if !store.IsNotFound(err) {
			t.Fatalf("delete as another merchant: %v", err)
		}
	})
}

func TestTokensAndMeta(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := merchant(t, s, "imp00000001")
		var k store.APIKey
		err := s.Write(ctx, func(q store.Q) error {
			var err error
			if k, err = q.InsertAPIKey(ctx, store.APIKey{MerchantID: m.ID, ImpKey: "k1", SecretHash: "h", CreatedAt: 1}); err != nil {
				return err
			}
			seq, err := q.LockAPIKey(ctx, k.ID)
			if err != nil || seq != 1 {
				t.Errorf("seq %d %v", seq, err)
			}
			_, err = q.InsertToken(ctx, store.Token{APIKeyID: k.ID, MerchantID: m.ID, TokenHash: "th", IssuedAt: 10, ExpiresAt: 100}, seq)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, seq, err := s.Read().ValidToken(ctx, k.ID, 50); err != nil || seq != 1 {
			t.Fatalf("valid token: %v %d", err, seq)
		}
		if _, _, err := s.Read().ValidToken(ctx, k.ID, 100); !store.IsNotFound(err) {
			t.Fatalf("expired token found: %v", err)
		}
		var v1, v2 string
		s.Write(ctx, func(q store.Q) error { v1, _ = q.InsertMetaIfAbsent(ctx, "k", "a"); return nil })
		s.Write(ctx, func(q store.Q) error { v2, _ = q.InsertMetaIfAbsent(ctx, "k", "b"); return nil })
		if v1 != "a" || v2 != "a" {
			t.Fatalf("meta %q %q", v1, v2)
		}
	})
}

func TestScheduleClaimIsExclusive(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := merchant(t, s, "imp00000051")
		var sc store.Schedule
		w := func(fn func(q store.Q) error) error { return s.Write(ctx, fn) }
		if err := w(func(q store.Q) error {
			var err error
			sc, err = q.InsertSchedule(ctx, store.Schedule{MerchantID: m.ID, CustomerUID: "c", MerchantUID: "s1", ScheduleAt: 100,
				Amount: 1000, Currency: "KRW", CreatedAt: 1})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := w(func(q store.Q) error {
			_, err := q.InsertSchedule(ctx, store.Schedule{MerchantID: m.ID, CustomerUID: "c", MerchantUID: "s1", ScheduleAt: 100, Amount: 1, Currency: "KRW", CreatedAt: 1})
			return err
		}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate merchant_uid: %v", err)
		}
		// Not due yet: neither swept nor claimable.
		var items []store.EnqueuedItem
		if err := w(func(q store.Q) (err error) { items, err = q.EnqueueDueSchedules(ctx, 99, 1000, 940, 10); return }); err != nil || len(items) != 0 {
			t.Fatalf("early sweep: %v %v", items, err)
		}
		// Due: one sweep takes it; a second sweep within the stale window does not.
		if err := w(func(q store.Q) (err error) { items, err = q.EnqueueDueSchedules(ctx, 100, 1000, 940, 10); return }); err != nil || len(items) != 1 || items[0].Seq != 1 {
			t.Fatalf("sweep: %v %v", items, err)
		}
		if err := w(func(q store.Q) (err error) { items, err = q.EnqueueDueSchedules(ctx, 100, 1001, 941, 10); return }); err != nil || len(items) != 0 {
			t.Fatalf("second sweep: %v %v", items, err)
		}
		// Concurrent claims: exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := w(func(q store.Q) error { _, err := q.ClaimSchedule(ctx, sc.ID, 100, 1000, 1100, false); return err })
				if err == nil {
					wins.Add(1)
				} else if !store.IsNotFound(err) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claims won", wins.Load())
		}
		// An expired claim can be taken over, keeping the payment count of the first claim.
		if _, err := insert(s, payment(m, "imp_000000000051", "s1", "paid")); err != nil {
			t.Fatal(err)
		}
		var again store.Schedule
		if err := w(func(q store.Q) (err error) { again, err = q.ClaimSchedule(ctx, sc.ID, 100, 1101, 1200, false); return }); err != nil {
			t.Fatal(err)
		}
		if again.PriorPayments != 0 || again.Status != store.ScheduleExecuting {
			t.Fatalf("takeover: %+v", again)
		}
		if err := w(func(q store.Q) error {
			ok, err := q.FinishSchedule(ctx, m.ID, "s1", store.ScheduleOutcome{ImpUID: "imp_000000000051", PaymentStatus: "paid", ExecutedAt: 100})
			if !ok {
				t.Error("finish found no executing schedule")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Read().Schedule(ctx, m.ID, "s1")
		if err != nil || got.Status != store.ScheduleExecuted || got.PaymentStatus != "paid" || got.ImpUID != "imp_000000000051" {
			t.Fatalf("finished: %+v %v", got, err)
		}
		if err := w(func(q store.Q) error { _, err := q.ClaimSchedule(ctx, sc.ID, 100, 5000, 5100, false); return err }); !store.IsNotFound(err) {
			t.Fatalf("claim of an executed schedule: %v", err)
		}
	})
}

func TestWebhookOutboxStates(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := merchant(t, s, "imp00000052")
		w := func(fn func(q store.Q) error) error { return s.Write(ctx, fn) }
		var ev store.WebhookEvent
		if err := w(func(q store.Q) (err error) {
			ev, err = q.InsertWebhookEvent(ctx, store.WebhookEvent{MerchantID: m.ID, EventID: "msg_1", ImpUID: "imp_1", MerchantUID: "o",
				Status: "paid", Reason: "paid", URL: "http://127.0.0.1:1/", ContentType: "json", Body: "{}", NextAttemptAt: 50, CreatedAt: 50})
			return
		}); err != nil {
			t.Fatal(err)
		}
		var items []store.EnqueuedItem
		if err := w(func(q store.Q) (err error) { items, err = q.EnqueueDueWebhooks(ctx, 50, 1000, 940, 10); return }); err != nil || len(items) != 1 {
			t.Fatalf("sweep: %v %v", items, err)
		}
		if err := w(func(q store.Q) error { _, err := q.ClaimWebhook(ctx, ev.ID, 50, 1000, 1090, false); return err }); err != nil {
			t.Fatal(err)
		}
		if err := w(func(q store.Q) error { _, err := q.ClaimWebhook(ctx, ev.ID, 50, 1001, 1091, false); return err }); !store.IsNotFound(err) {
			t.Fatalf("second claim: %v", err)
		}
		if err := w(func(q store.Q) (err error) {
			ev, err = q.RecordWebhookAttempt(ctx, store.WebhookAttempt{EventID: ev.ID, Attempt: 1, URL: ev.URL, StatusCode: 503, Error: "HTTP 503", At: 50}, false, 60, 50)
			return
		}); err != nil || ev.State != store.WebhookPending || ev.Attempts != 1 || ev.NextAttemptAt != 60 || ev.EnqueuedAt != 0 {
			t.Fatalf("after a failure: %+v %v", ev, err)
		}
		if err := w(func(q store.Q) (err error) { items, err = q.EnqueueDueWebhooks(ctx, 59, 1002, 942, 10); return }); err != nil || len(items) != 0 {
			t.Fatalf("not due yet: %v %v", items, err)
		}
		if err := w(func(q store.Q) error { _, err := q.ClaimWebhook(ctx, ev.ID, 60, 1100, 1190, false); return err }); err != nil {
			t.Fatal(err)
		}
		if err := w(func(q store.Q) (err error) {
			ev, err = q.RecordWebhookAttempt(ctx, store.WebhookAttempt{EventID: ev.ID, Attempt: 2, URL: ev.URL, StatusCode: 200, At: 60}, true, 0, 60)
			return
		}); err != nil || ev.State != store.WebhookDelivered || ev.DeliveredAt != 60 {
			t.Fatalf("delivered: %+v %v", ev, err)
		}
		evs, total, err := s.Read().WebhookEvents(ctx, store.WebhookFilter{MerchantID: m.ID, ImpUID: "imp_1"})
		if err != nil || total != 1 || len(evs[0].AttemptLog) != 2 || evs[0].AttemptLog[0].StatusCode != 503 {
			t.Fatalf("list: %+v %d %v", evs, total, err)
		}
	})
}
