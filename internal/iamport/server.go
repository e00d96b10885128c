package iamport

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"billkey/internal/accounts"
	"billkey/internal/billing"
	"billkey/internal/clock"
	"billkey/internal/store"
)

// Server serves the i'mport V1 REST API.
type Server struct {
	Accounts *accounts.Service
	Billing  *billing.Service
	Store    *store.Store
	Clock    clock.Clock
	Log      *slog.Logger
	// Extra registers more authenticated routes (schedules, webhooks) on the
	// same mux with the same authentication.
	Extra []func(mux *http.ServeMux, auth func(AuthedHandler) http.Handler)
}

// AuthedHandler is a handler that runs for an authenticated merchant.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, merchantID int64)

type ctxKey struct{}

// Routes registers every i'mport route on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /users/getToken", s.getToken)
	a := s.auth
	mux.Handle("POST /subscribe/payments/again", a(s.again))
	mux.Handle("POST /subscribe/payments/onetime", a(s.onetime))
	mux.Handle("GET /subscribe/customers", a(s.customersMany))
	mux.Handle("GET /subscribe/customers/{customer_uid}", a(s.customerGet))
	mux.Handle("POST /subscribe/customers/{customer_uid}", a(s.customerIssue))
	mux.Handle("DELETE /subscribe/customers/{customer_uid}", a(s.customerDelete))
	mux.Handle("GET /subscribe/customers/{customer_uid}/payments", a(s.customerPayments))
	mux.Handle("GET /payments", a(s.paymentsMany))
	mux.Handle("GET /payments/{imp_uid}", a(s.paymentGet))
	mux.Handle("GET /payments/find/{merchant_uid}", a(s.paymentFind))
	mux.Handle("GET /payments/find/{merchant_uid}/{status}", a(s.paymentFind))
	mux.Handle("GET /payments/findAll/{merchant_uid}", a(s.paymentFindAll))
	mux.Handle("GET /payments/findAll/{merchant_uid}/{status}", a(s.paymentFindAll))
	mux.Handle("GET /payments/status/{status}", a(s.paymentsByStatus))
	mux.Handle("POST /payments/cancel", a(s.cancel))
	mux.Handle("POST /payments/prepare", a(s.prepareCreate))
	mux.Handle("PUT /payments/prepare", a(s.prepareUpdate))
	mux.Handle("GET /payments/prepare/{merchant_uid}", a(s.prepareGet))
	for _, f := range s.Extra {
		f(mux, a)
	}
	// Anything else gets a JSON envelope too (clients parse every error body).
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusNotFound, -1, "존재하지 않는 API입니다: "+r.Method+" "+r.URL.Path+" (no such endpoint)", nil)
	})
}

// TokenFrom extracts the access token the way i'mport clients send it:
// Authorization (raw, or with a Bearer/Basic scheme) wins over
// X-ImpTokenHeader, which wins over ?_token=.
func TokenFrom(r *http.Request) string {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		if i := strings.IndexByte(h, ' '); i > 0 {
			scheme := strings.ToLower(h[:i])
			if scheme == "bearer" || scheme == "basic" || scheme == "token" {
				h = strings.TrimSpace(h[i+1:])
			}
		}
		return h
	}
	if h := strings.TrimSpace(r.Header.Get("X-ImpTokenHeader")); h != "" {
		return h
	}
	return r.URL.Query().Get("_token")
}

func (s *Server) auth(h AuthedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.Accounts.Authenticate(r.Context(), TokenFrom(r))
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)), id)
	})
}
