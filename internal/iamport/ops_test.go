package iamport_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"billkey/internal/testutil/apptest"
)

func TestHealthReadyMetricsAndUnknownRoutes(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	// Trailing slashes are tolerated; unknown routes get an envelope.
	if st, env := m.Do(t, "GET", "/payments/status/all/", nil); st != 200 || env.Code != 0 {
		t.Fatalf("trailing slash: %d %s", st, env.Raw)
	}
	if st, env := m.Do(t, "GET", "/no/such/thing", nil); st != 404 || env.Msg() == "" {
		t.Fatalf("unknown route: %d %s", st, env.Raw)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`billkey_http_requests_total{method="GET",route="GET /payments/status/{status}",status="200"}`,
		`billkey_http_request_duration_seconds_bucket{route="POST /users/getToken"`,
		`route="/",status="404"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), m.Token) {
		t.Fatal("a token reached the metrics")
	}
}

// TestGracefulShutdownFinishesInFlight: a charge that is at the PG when the
// server is told to stop still completes and is answered.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	if st, env := m.Do(t, "POST", "/subscribe/customers/g", map[string]string{"pg": "testpg", "card_number": "4242-4242-4242-4242", "expiry": "2030-12"}); st != 200 || env.Code != 0 {
		t.Fatalf("issue: %d %s", st, env.Raw)
	}
	req, _ := http.NewRequest("PUT", s.URL+"/pgsim/testpg/_sim/config", strings.NewReader(`{"delay_ms":800}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("delay: %v %v", err, resp)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var st int
	var raw string
	go func() {
		defer wg.Done()
		code, env := m.Do(t, "POST", "/subscribe/payments/again", map[string]any{"customer_uid": "g", "merchant_uid": "graceful", "amount": 100})
		st, raw = code, string(env.Raw)
	}()
	// Wait (bounded) until the charge is in flight, then stop the server.
	for i := 0; i < 200; i++ {
		ps, _, _ := s.App.Store.Read().Payments(t.Context(), storeFilterAll(m.ID))
		if len(ps) > 0 {
			break
		}
		sleepMS(10)
	}
	s.Stop()
	wg.Wait()
	if st != 200 || !strings.Contains(raw, `"status":"paid"`) {
		t.Fatalf("in-flight charge across shutdown: %d %s", st, raw)
	}
}
