package billing_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"billkey/internal/billing"
	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/proctest"
)

func call(t *testing.T, method, u, token string, body any) (int, apptest.Envelope, error) {
	return apptest.Call(&http.Client{Timeout: 20 * time.Second}, method, u, token, body)
}

// testpgCharge is a charge in the test PG's ledger.
type testpgCharge struct {
	Kind    string `json:"kind"`
	OrderID string `json:"order_id"`
	TID     string `json:"tid"`
	Amount  int64  `json:"amount"`
	Status  string `json:"status"`
}

func testpgCharges(t *testing.T, base, orderID string) []testpgCharge {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(base + "/pgsim/testpg/_sim/ledger?order_id=" + url.QueryEscape(orderID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []testpgCharge
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("testpg ledger: %v", err)
	}
	var charges []testpgCharge
	for _, e := range out {
		if e.Kind == "charge" {
			charges = append(charges, e)
		}
	}
	return charges
}

// markerImpUIDs returns the imp_uids of the failpoint lines in logs.
func markerImpUIDs(logs string) []string {
	var ids []string
	for _, line := range strings.Split(logs, "\n") {
		if rest, ok := strings.CutPrefix(line, billing.FailpointMarker+" "+billing.FailpointAfterPGChargeHang+" imp_uid="); ok {
			ids = append(ids, strings.TrimSpace(rest))
		}
	}
	return ids
}

func getToken(t *testing.T, base, key, secret string) string {
	t.Helper()
	_, e, err := call(t, "POST", base+"/users/getToken", "", map[string]string{"imp_key": key, "imp_secret": secret})
	if err != nil || e.Code != 0 {
		t.Fatalf("getToken: %v %s", err, e.Raw)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(e.Response, &tok)
	return tok.AccessToken
}

func findPayment(t *testing.T, base, token, merchantUID string) (payment, bool) {
	t.Helper()
	st, e, err := call(t, "GET", base+"/payments/find/"+url.PathEscape(merchantUID), token, nil)
	if err != nil || st != 200 || e.Code != 0 {
		return payment{}, false
	}
	var p payment
	if json.Unmarshal(e.Response, &p) != nil {
		return payment{}, false
	}
	return p, true
}

// TestCrashBetweenPGAnswerAndCommit charges two keys on the real binary with
// a failpoint that holds both requests after the test PG answered (one paid,
// one declined) and before billkey commits the outcome. The test then kills
// the process from outside with SIGKILL, restarts it on the same data and
// checks the PG's record against billkey's: each payment ends as the PG's
// ledger says (paid / failed), with the ledger's tid as its pg_tid, and the
// PG holds exactly one charge per payment, also after a retry of the paid
// merchant_uid, which is refused.
func TestCrashBetweenPGAnswerAndCommit(t *testing.T) {
	bin := proctest.Build(t)
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			dbArgs := proctest.DataArgs(t, engine, t.TempDir())
			impKey, impSecret := proctest.CreateMerchant(t, bin, dbArgs, "crash")
			addr := proctest.FreeAddr(t)
			base := "http://" + addr
			env := []string{"BILLKEY_PG_TIMEOUT=2s", "BILLKEY_RECONCILE_INTERVAL=200ms", "BILLKEY_DEMO=false"}
			args := append([]string{"serve", "-addr", addr}, dbArgs...)

			// The charges to crash: a card the test PG charges, and one it declines (F051).
			type order struct {
				customer, card, merchantUID, wantStatus string
				amount                                  int64
			}
			orders := []order{
				{"crash_paid", "4242-4242-4242-4242", "crash-paid", "paid", 4321},
				{"crash_declined", "4000-0000-0000-0341", "crash-declined", "failed", 4322},
			}

			p1 := proctest.Start(t, bin, append(env, "BILLKEY_FAILPOINT="+billing.FailpointAfterPGChargeHang), args...)
			p1.WaitHealthy(t, base)
			token := getToken(t, base, impKey, impSecret)
			for _, o := range orders {
				if st, e, err := call(t, "POST", base+"/subscribe/customers/"+o.customer, token,
					map[string]string{"pg": "testpg", "card_number": o.card, "expiry": "2030-12"}); err != nil || st != 200 || e.Code != 0 {
					t.Fatalf("issue %s: %v %d %s", o.customer, err, st, e.Raw)
				}
			}
			// Both charges go out at once; neither may get an answer: the
			// failpoint holds them until the kill.
			answers := make(chan error, len(orders))
			for _, o := range orders {
				go func() {
					st, e, err := call(t, "POST", base+"/subscribe/payments/again", token,
						map[string]any{"customer_uid": o.customer, "merchant_uid": o.merchantUID, "amount": o.amount})
					if err == nil {
						err = fmt.Errorf("%s was answered before the kill: HTTP %d %s", o.merchantUID, st, e.Raw)
					} else {
						err = nil
					}
					answers <- err
				}()
			}
			var held []string
			for i := 0; i < 300 && len(held) < len(orders); i++ { // up to ~30 s
				select {
				case <-p1.Done:
					t.Fatalf("billkey exited before the kill: %v\n%s", p1.Err, p1.Logs)
				default:
				}
				held = markerImpUIDs(p1.Logs.String())
				if len(held) < len(orders) {
					time.Sleep(100 * time.Millisecond)
				}
			}
			if len(held) != len(orders) {
				t.Fatalf("%d of %d charges reached the failpoint\n%s", len(held), len(orders), p1.Logs)
			}
			// While held: billkey has the payments in flight, the PG has charged (or declined) them.
			impUIDs := map[string]string{}
			pgCharge := map[string]testpgCharge{}
			for _, o := range orders {
				p, ok := findPayment(t, base, token, o.merchantUID)
				if !ok || p.Status != "ready" || p.PGTID != nil {
					t.Fatalf("%s while held at the failpoint: %+v (found %v), want in flight with no pg_tid", o.merchantUID, p, ok)
				}
				if !slices.Contains(held, p.ImpUID) {
					t.Fatalf("%s (%s) is not one of the held charges %v", o.merchantUID, p.ImpUID, held)
				}
				impUIDs[o.merchantUID] = p.ImpUID
				charges := testpgCharges(t, base, p.ImpUID)
				if len(charges) != 1 || charges[0].Status != o.wantStatus || charges[0].Amount != o.amount || charges[0].TID == "" {
					t.Fatalf("the PG's ledger for %s before the kill: %+v, want one %s charge of %d", p.ImpUID, charges, o.wantStatus, o.amount)
				}
				pgCharge[o.merchantUID] = charges[0]
			}

			p1.Kill(t)
			for range orders {
				select {
				case err := <-answers:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("a held charge request did not end after the kill")
				}
			}

			p2 := proctest.Start(t, bin, env, args...)
			p2.WaitHealthy(t, base)
			token = getToken(t, base, impKey, impSecret)
			for _, o := range orders {
				var pay payment
				for i := 0; i < 300; i++ { // up to ~30 s: the lease is PG timeout + grace
					if p, ok := findPayment(t, base, token, o.merchantUID); ok {
						pay = p
						if pay.Status != "ready" {
							break
						}
					}
					time.Sleep(100 * time.Millisecond)
				}
				want := pgCharge[o.merchantUID]
				if pay.ImpUID != impUIDs[o.merchantUID] || pay.Status != want.Status || pay.Amount != o.amount {
					t.Fatalf("after restart %s is %+v; the PG's ledger says %+v\n%s", o.merchantUID, pay, want, p2.Logs)
				}
				if pay.PGTID == nil || *pay.PGTID != want.TID {
					t.Fatalf("after restart %s has pg_tid %v, the PG's ledger tid %q", o.merchantUID, pay.PGTID, want.TID)
				}
				switch want.Status {
				case "paid":
					if pay.PaidAt == 0 {
						t.Fatalf("paid without paid_at: %+v", pay)
					}
				case "failed":
					if pay.FailedAt == 0 || pay.FailReason == nil || *pay.FailReason == "" {
						t.Fatalf("failed without failed_at or fail_reason: %+v", pay)
					}
				}
				if charges := testpgCharges(t, base, pay.ImpUID); len(charges) != 1 || charges[0] != want {
					t.Fatalf("the PG's ledger for %s after the restart: %+v, want just %+v", pay.ImpUID, charges, want)
				}
			}
			// The paid merchant_uid is taken: a retry is refused, not charged twice.
			if _, e, _ := call(t, "POST", base+"/subscribe/payments/again", token,
				map[string]any{"customer_uid": "crash_paid", "merchant_uid": "crash-paid", "amount": 4321}); e.Code != 1 {
				t.Fatalf("retry after crash: %s", e.Raw)
			}
			if charges := testpgCharges(t, base, impUIDs["crash-paid"]); len(charges) != 1 {
				t.Fatalf("the PG's ledger after the refused retry: %+v", charges)
			}
		})
	}
}
