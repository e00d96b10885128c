package payco_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"billkey/internal/pg"
	"billkey/internal/pg/payco"
)

func chargeAt(t *testing.T, baseURL string, client *http.Client) error {
	t.Helper()
	e := newEnv(t)
	key := e.issue("imp_k1", "normal")
	ch := e.ch
	ch.BaseURL = baseURL
	res, err := payco.New(client).Charge(ctx(), ch, pg.ChargeRequest{ImpUID: "imp_t1", BillingKey: key.BillingKey, Amount: 100})
	if err == nil {
		t.Fatalf("want an error, got %+v", res)
	}
	return err
}

func TestConnectionRefusedIsNotUnknown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = chargeAt(t, "http://"+addr, nil)
	wantPGError(t, err, "CONNECT", false)
}

func TestServerErrorIsUnknown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	}))
	defer srv.Close()
	wantPGError(t, chargeAt(t, srv.URL, nil), "HTTP_502", true)
}

func TestTimeoutIsUnknown(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	err := chargeAt(t, srv.URL, &http.Client{Timeout: 100 * time.Millisecond})
	wantPGError(t, err, "TIMEOUT", true)
}

func TestGarbageResponseIsUnknown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>maintenance</html>"))
	}))
	defer srv.Close()
	wantPGError(t, chargeAt(t, srv.URL, nil), "BAD_RESPONSE", true)
}
