package payco_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"billkey/internal/pg"
	"billkey/internal/pg/payco"
)

func TestProviderAndKeyIn(t *testing.T) {
	c := payco.New(nil)
	if c.Provider() != "payco" || c.SupportsKeyIn() {
		t.Fatalf("Provider %q SupportsKeyIn %v", c.Provider(), c.SupportsKeyIn())
	}
}

func TestIssueDisplaysAmountAndChargesNothing(t *testing.T) {
	e := newEnv(t)
	st := e.start("imp_issue1", 12900)
	simID := st.State["sim_id"]
	if simID == "" || !strings.HasSuffix(st.PCURL, "/"+simID) || st.MobileURL != st.PCURL {
		t.Fatalf("IssueStart %+v", st)
	}
	// The order sheet shows the display amount.
	resp, err := http.Get(st.PCURL)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, _ := resp.Body.Read(buf)
	resp.Body.Close()
	if page := string(buf[:n]); !strings.Contains(page, "12900") || !strings.Contains(page, "no charge") {
		t.Fatalf("order sheet does not show the display amount: %s", page)
	}
	params, _ := e.buyer(simID, "register", "normal")
	res := e.complete("imp_issue1", st, params)
	if res.Status != pg.StatusPaid || res.Charged || res.PayMethod != "card" || !strings.HasPrefix(res.BillingKey, "payco1.") {
		t.Fatalf("IssueResult %+v", res)
	}
	if res.Card.Name == "" || res.Card.Code == "" || res.PaidAt.IsZero() {
		t.Fatalf("card info missing: %+v", res)
	}
	if l := e.ledger(""); len(l) != 0 {
		t.Fatalf("registration moved money: %+v", l)
	}
}

func TestMobileIssueUsesMobileOrderSheet(t *testing.T) {
	e := newEnv(t)
	st, err := e.conn.StartIssue(ctx(), e.ch, pg.IssueRequest{ImpUID: "imp_m1", Amount: 1000, ReturnURL: returnURL,
		CancelURL: "http://127.0.0.1:9/payments/payco/cancel", Mobile: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.MobileURL, "/m/easyLogin/") {
		t.Fatalf("mobile URL %q", st.MobileURL)
	}
}

func TestChargePaid(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	res := e.charge("imp_c1", key.BillingKey, 9900)
	if res.Status != pg.StatusPaid || res.PGTID == "" || res.ApplyNum == "" || res.PaidAt.IsZero() ||
		res.Card.Name == "" || !strings.Contains(res.ReceiptURL, res.PGTID) {
		t.Fatalf("ChargeResult %+v", res)
	}
	l := e.ledger("imp_c1")
	if len(l) != 1 || l[0].Kind != "charge" || l[0].Amount != 9900 || l[0].OrderNo != "imp_c1" || l[0].PaycoOrderNo != res.PGTID {
		t.Fatalf("ledger %+v", l)
	}
}

func TestChargeRetryWithSameOrderNumberReturnsTheCharge(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	first := e.charge("imp_c1", key.BillingKey, 5000)
	again := e.charge("imp_c1", key.BillingKey, 5000)
	if again.Status != pg.StatusPaid || again.PGTID != first.PGTID {
		t.Fatalf("retry: %+v, first %+v", again, first)
	}
	if l := e.ledger("imp_c1"); len(l) != 1 {
		t.Fatalf("charged twice: %+v", l)
	}
}

func TestLaterDeclineCards(t *testing.T) {
	for card, code := range map[string]string{"insufficient": "3201", "suspended": "3202"} {
		t.Run(card, func(t *testing.T) {
			e := newEnv(t)
			key := e.issue("imp_k_"+card, card)
			res := e.charge("imp_c_"+card, key.BillingKey, 1000)
			if res.Status != pg.StatusFailed || res.FailCode != code || res.FailReason == "" {
				t.Fatalf("ChargeResult %+v", res)
			}
			if l := e.ledger(""); len(l) != 0 {
				t.Fatalf("declined charge moved money: %+v", l)
			}
		})
	}
}

func TestDeclineAtRegistration(t *testing.T) {
	e := newEnv(t)
	st := e.start("imp_d1", 1000)
	params, _ := e.buyer(st.State["sim_id"], "register", "decline")
	res := e.complete("imp_d1", st, params)
	if res.Status != pg.StatusFailed || res.FailCode != "3101" || res.FailReason == "" || res.BillingKey != "" {
		t.Fatalf("IssueResult %+v", res)
	}
}

func TestBuyerCancelAndFail(t *testing.T) {
	e := newEnv(t)
	for action, code := range map[string]string{"cancel": "2222", "fail": "3102"} {
		imp := "imp_" + action
		st := e.start(imp, 1000)
		params, _ := e.buyer(st.State["sim_id"], action, "normal")
		res := e.complete(imp, st, params)
		if res.Status != pg.StatusFailed || res.FailCode != code || res.FailReason == "" {
			t.Fatalf("%s: IssueResult %+v", action, res)
		}
		// The reserve is spent: the buyer cannot register it afterwards.
		if _, status := e.buyer(st.State["sim_id"], "register", "normal"); status != http.StatusConflict {
			t.Fatalf("%s: second buyer step HTTP %d", action, status)
		}
	}
}

func TestForgedReturnIsRefused(t *testing.T) {
	e := newEnv(t)
	st := e.start("imp_f1", 1000)
	params, _ := e.buyer(st.State["sim_id"], "register", "normal")
	params.Set("autoPaymentCertifyKey", "forged")
	res := e.complete("imp_f1", st, params)
	if res.Status != pg.StatusFailed || res.FailCode != "3001" {
		t.Fatalf("IssueResult %+v", res)
	}
}

func TestDeletedKeyCannotBeCharged(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	if err := e.conn.DeleteKey(ctx(), e.ch, key.BillingKey); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	res := e.charge("imp_c1", key.BillingKey, 1000)
	if res.Status != pg.StatusFailed || res.FailCode != "3001" {
		t.Fatalf("charge after delete: %+v", res)
	}
	if err := e.conn.DeleteKey(ctx(), e.ch, key.BillingKey); err != nil {
		t.Fatalf("second DeleteKey: %v", err)
	}
	if err := e.conn.DeleteKey(ctx(), e.ch, "garbage"); err == nil {
		t.Fatal("DeleteKey accepted a foreign key")
	}
}

func TestCancelPartialFullAndOverCancel(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	paid := e.charge("imp_c1", key.BillingKey, 10000)
	cancel := func(amount, remaining int64) (pg.CancelResult, error) {
		return e.conn.Cancel(ctx(), e.ch, pg.CancelRequest{ImpUID: "imp_c1", PGTID: paid.PGTID, Amount: amount,
			Remaining: remaining, TotalAmount: 10000, Reason: "test", BillingKey: key.BillingKey})
	}
	c1, err := cancel(3000, 10000)
	if err != nil || c1.PGTID == "" || c1.CancelledAt.IsZero() {
		t.Fatalf("partial cancel: %+v %v", c1, err)
	}
	_, err = cancel(8000, 7000)
	wantPGError(t, err, "4002", false)
	_, err = cancel(1000, 10000) // stale balance
	wantPGError(t, err, "4003", false)
	c2, err := cancel(7000, 7000)
	if err != nil || c2.PGTID == "" || c2.PGTID == c1.PGTID {
		t.Fatalf("final cancel: %+v %v", c2, err)
	}
	_, err = cancel(1, 0)
	wantPGError(t, err, "4005", false)
	l := e.ledger("imp_c1")
	if len(l) != 3 || l[1].Kind != "cancel" || l[1].Amount != 3000 || l[2].Amount != 7000 {
		t.Fatalf("ledger %+v", l)
	}
	_, err = e.conn.Cancel(ctx(), e.ch, pg.CancelRequest{ImpUID: "imp_never", Amount: 100, Remaining: 100, TotalAmount: 100})
	wantPGError(t, err, "4001", false)
}

func TestFullCancelAfterDelete(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	paid := e.charge("imp_c1", key.BillingKey, 4000)
	if err := e.conn.DeleteKey(ctx(), e.ch, key.BillingKey); err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Cancel(ctx(), e.ch, pg.CancelRequest{ImpUID: "imp_c1", PGTID: paid.PGTID, Amount: 4000, Remaining: 4000, TotalAmount: 4000}); err != nil {
		t.Fatalf("cancel after key delete: %v", err)
	}
}

func TestLookup(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	paid := e.charge("imp_c1", key.BillingKey, 7700)
	// Without a PG tid (billkey crashed before recording it).
	got, err := e.conn.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_c1", Amount: 7700})
	if err != nil || !got.Found || got.Charge.Status != pg.StatusPaid || got.Charge.PGTID != paid.PGTID || got.Charge.ApplyNum != paid.ApplyNum {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	got, err = e.conn.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_c1", PGTID: paid.PGTID})
	if err != nil || !got.Found {
		t.Fatalf("Lookup by tid: %+v %v", got, err)
	}
	got, err = e.conn.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_never"})
	if err != nil || got.Found {
		t.Fatalf("Lookup of a charge never sent: %+v %v", got, err)
	}
	// A declined charge is not found either.
	bad := e.issue("imp_k2", "suspended")
	e.charge("imp_c2", bad.BillingKey, 100)
	if got, err = e.conn.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_c2"}); err != nil || got.Found {
		t.Fatalf("Lookup of a declined charge: %+v %v", got, err)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	paid := e.charge("imp_c1", key.BillingKey, 3000)
	st := e.start("imp_k2", 500)
	e.restartSim()
	if l := e.ledger(""); len(l) != 1 || l[0].PaycoOrderNo != paid.PGTID {
		t.Fatalf("ledger after restart: %+v", l)
	}
	if res := e.charge("imp_c2", key.BillingKey, 2000); res.Status != pg.StatusPaid {
		t.Fatalf("charge after restart: %+v", res)
	}
	if got, err := e.conn.Lookup(ctx(), e.ch, pg.LookupRequest{ImpUID: "imp_c1"}); err != nil || !got.Found {
		t.Fatalf("lookup after restart: %+v %v", got, err)
	}
	params, code := e.buyer(st.State["sim_id"], "register", "normal")
	if code != http.StatusOK {
		t.Fatalf("pending reserve lost in restart: HTTP %d", code)
	}
	if res := e.complete("imp_k2", st, params); res.Status != pg.StatusPaid {
		t.Fatalf("complete after restart: %+v", res)
	}
}

func TestReserveExpires(t *testing.T) {
	e := newEnv(t)
	st := e.start("imp_x1", 1000)
	e.clk.Advance(2 * time.Hour)
	if _, code := e.buyer(st.State["sim_id"], "register", "normal"); code != http.StatusGone {
		t.Fatalf("expired reserve: HTTP %d", code)
	}
}

func TestBadCredentials(t *testing.T) {
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	bad := e.ch
	bad.Credentials = map[string]string{"seller_key": "NOT_A_SELLER", "cp_id": "X", "product_id": "P"}
	_, err := e.conn.StartIssue(ctx(), bad, pg.IssueRequest{ImpUID: "imp_b1", ReturnURL: returnURL})
	wantPGError(t, err, "1002", false)
	_, err = e.conn.Charge(ctx(), bad, pg.ChargeRequest{ImpUID: "imp_b2", BillingKey: key.BillingKey, Amount: 100})
	wantPGError(t, err, "1002", false)
	bad.Credentials = map[string]string{"seller_key": "IPBLOCK", "cp_id": "X"}
	_, err = e.conn.Charge(ctx(), bad, pg.ChargeRequest{ImpUID: "imp_b3", BillingKey: key.BillingKey, Amount: 100})
	wantPGError(t, err, "1003", false)
	// Another seller cannot charge this registration.
	other := e.ch
	other.Credentials = map[string]string{"seller_key": "DEMO", "cp_id": "DEMO", "product_id": "PROD_EASY"}
	if res := e.charge2(other, "imp_b4", key.BillingKey); res.Status != pg.StatusFailed || res.FailCode != "3001" {
		t.Fatalf("cross-seller charge: %+v", res)
	}
	_, err = e.conn.Charge(ctx(), e.ch, pg.ChargeRequest{ImpUID: "imp_b5", BillingKey: "not-a-key", Amount: 100})
	wantPGError(t, err, "BAD_BILLING_KEY", false)
	if l := e.ledger(""); len(l) != 0 {
		t.Fatalf("refused charges moved money: %+v", l)
	}
}

func (e *env) charge2(ch pg.Channel, imp, key string) pg.ChargeResult {
	e.t.Helper()
	res, err := e.conn.Charge(ctx(), ch, pg.ChargeRequest{ImpUID: imp, BillingKey: key, Amount: 100})
	if err != nil {
		e.t.Fatalf("Charge: %v", err)
	}
	return res
}
