package billing_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"billkey/internal/testutil/apptest"
)

type payment struct {
	ImpUID           string  `json:"imp_uid"`
	MerchantUID      string  `json:"merchant_uid"`
	Status           string  `json:"status"`
	Amount           int64   `json:"amount"`
	CancelAmount     int64   `json:"cancel_amount"`
	PayMethod        string  `json:"pay_method"`
	Channel          string  `json:"channel"`
	PGProvider       string  `json:"pg_provider"`
	PGTID            *string `json:"pg_tid"`
	CustomerUID      *string `json:"customer_uid"`
	CustomerUIDUsage *string `json:"customer_uid_usage"`
	FailReason       *string `json:"fail_reason"`
	FailedAt         int64   `json:"failed_at"`
	PaidAt           int64   `json:"paid_at"`
	CancelledAt      int64   `json:"cancelled_at"`
	CancelReason     *string `json:"cancel_reason"`
	CancelHistory    []struct {
		Amount      int64  `json:"amount"`
		Reason      string `json:"reason"`
		CancelledAt int64  `json:"cancelled_at"`
	} `json:"cancel_history"`
}

type customer struct {
	CustomerUID string  `json:"customer_uid"`
	PGProvider  string  `json:"pg_provider"`
	PGID        string  `json:"pg_id"`
	CardName    string  `json:"card_name"`
	CardNumber  *string `json:"card_number"`
	Inserted    int64   `json:"inserted"`
}

type pagedPayments struct {
	Total    int64     `json:"total"`
	Previous int       `json:"previous"`
	Next     int       `json:"next"`
	List     []payment `json:"list"`
}

// issueTestKey issues a testpg billing key from a test card over the API.
func issueTestKey(t *testing.T, m *apptest.Merchant, uid, card string) customer {
	t.Helper()
	st, env := m.Do(t, "POST", "/subscribe/customers/"+uid, url.Values{"pg": {"testpg"}, "card_number": {card}, "expiry": {"2030-12"},
		"birth": {"900101"}, "pwd_2digit": {"00"}, "customer_name": {"홍길동"}})
	if st != 200 || env.Code != 0 {
		t.Fatalf("issue key %s: %d %s", uid, st, env.Raw)
	}
	var c customer
	env.Into(t, &c)
	return c
}

func again(t *testing.T, m *apptest.Merchant, body any) (int, apptest.Envelope, payment) {
	t.Helper()
	st, env := m.Do(t, "POST", "/subscribe/payments/again", body)
	var p payment
	if st == 200 && env.Code == 0 {
		env.Into(t, &p)
	}
	return st, env, p
}

type ledgerEntry struct {
	Kind    string `json:"kind"`
	OrderID string `json:"order_id"`
	Amount  int64  `json:"amount"`
	Status  string `json:"status"`
}

// testpgLedger reads the test PG's own ledger.
func testpgLedger(t *testing.T, s *apptest.Server, orderID string) []ledgerEntry {
	t.Helper()
	u := s.URL + "/pgsim/testpg/_sim/ledger"
	if orderID != "" {
		u += "?order_id=" + url.QueryEscape(orderID)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []ledgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("ledger: %v", err)
	}
	return out
}

func countKind(es []ledgerEntry, kind, status string) int {
	n := 0
	for _, e := range es {
		if e.Kind == kind && (status == "" || e.Status == status) {
			n++
		}
	}
	return n
}
