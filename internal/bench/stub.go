package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stub is a PG that speaks testpg's wire protocol (internal/pgsim/testpg) and
// answers at once, or after Delay for charges. It keeps nothing on disk: it
// stands for a PG whose own cost is not billkey's. It answers key-in
// issuance, charges, lookups by order id, cancels and key deletion.
type Stub struct {
	URL     string
	delay   atomic.Int64 // nanoseconds, charges only
	charges atomic.Int64
	orders  sync.Map // order_id → stubCharge
	srv     *http.Server
	ln      net.Listener
}

type stubCharge struct {
	TID    string
	Amount int64
	At     int64
}

// StartStub listens on a free loopback port.
func StartStub(delay time.Duration) (*Stub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Stub{ln: ln, URL: "http://" + ln.Addr().String()}
	s.delay.Store(int64(delay))
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/keys", s.auth(s.issue))
	m.HandleFunc("POST /v1/charges", s.auth(s.charge))
	m.HandleFunc("GET /v1/charges", s.auth(s.lookup))
	m.HandleFunc("POST /v1/charges/{tid}/cancel", s.auth(s.cancel))
	m.HandleFunc("DELETE /v1/keys/{key}", s.auth(func(w http.ResponseWriter, r *http.Request) {
		stubJSON(w, 200, map[string]any{"deleted": true})
	}))
	s.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// SetDelay changes the delay of charge answers.
func (s *Stub) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// Charges is how many charges the stub answered.
func (s *Stub) Charges() int64 { return s.charges.Load() }

// Close stops the stub.
func (s *Stub) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

func (s *Stub) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "TestPG ") {
			stubJSON(w, 401, map[string]string{"code": "UNAUTHORIZED", "message": "Authorization: TestPG <secret>"})
			return
		}
		h(w, r)
	}
}

func stubJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func stubDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		stubJSON(w, 400, map[string]string{"code": "BAD_REQUEST", "message": err.Error()})
		return false
	}
	return true
}

func randID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Stub) issue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CardNumber  string `json:"card_number"`
		CustomerUID string `json:"customer_uid"`
	}
	if !stubDecode(w, r, &req) {
		return
	}
	stubJSON(w, 200, map[string]any{"billing_key": randID("tpk_", 12), "customer_uid": req.CustomerUID,
		"card_name": "테스트카드", "card_code": "361", "card_number": "424242******4242", "card_type": 0,
		"issued_at": time.Now().Unix()})
}

func (s *Stub) chargeJSON(order string, c stubCharge) map[string]any {
	return map[string]any{"tid": c.TID, "order_id": order, "status": "paid", "amount": c.Amount, "tax_free": 0,
		"cancelled_amount": 0, "name": "", "paid_at": c.At, "apply_num": "12345678", "card_name": "테스트카드",
		"card_code": "361", "card_number": "424242******4242", "card_type": 0}
}

func (s *Stub) charge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		BillingKey string `json:"billing_key"`
		OrderID    string `json:"order_id"`
		Amount     int64  `json:"amount"`
	}
	if !stubDecode(w, r, &req) {
		return
	}
	if req.OrderID == "" || req.BillingKey == "" || req.Amount <= 0 {
		stubJSON(w, 400, map[string]string{"code": "BAD_REQUEST", "message": "order_id, billing_key and amount are required"})
		return
	}
	c := stubCharge{TID: randID("tp_", 10), Amount: req.Amount, At: time.Now().Unix()}
	if prev, loaded := s.orders.LoadOrStore(req.OrderID, c); loaded {
		c = prev.(stubCharge) // idempotent by order id, like testpg
	} else {
		s.charges.Add(1)
	}
	if d := time.Duration(s.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	stubJSON(w, 200, s.chargeJSON(req.OrderID, c))
}

func (s *Stub) lookup(w http.ResponseWriter, r *http.Request) {
	order := r.URL.Query().Get("order_id")
	v, ok := s.orders.Load(order)
	if !ok {
		stubJSON(w, 404, map[string]string{"code": "CHARGE_NOT_FOUND", "message": "no charge for this order id"})
		return
	}
	stubJSON(w, 200, s.chargeJSON(order, v.(stubCharge)))
}

func (s *Stub) cancel(w http.ResponseWriter, r *http.Request) {
	stubJSON(w, 200, map[string]any{"cancel_tid": randID("tpc_", 10), "cancelled_at": time.Now().Unix()})
}
