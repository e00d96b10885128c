package testpg

import (
	"net/http"
	"time"
)

// ledgerEntry is one money movement: a charge (paid or failed) or a cancel.
// Billing keys appear only as their SHA-256.
type ledgerEntry struct {
	ID             int64  `json:"id"`
	Kind           string `json:"kind"` // charge | cancel
	OrderID        string `json:"order_id"`
	TID            string `json:"tid"`                  // the charge's tid
	CancelTID      string `json:"cancel_tid,omitempty"` // cancels only
	BillingKeyHash string `json:"billing_key_hash"`
	Amount         int64  `json:"amount"`
	Status         string `json:"status"`           // paid | failed | cancelled
	Reason         string `json:"reason,omitempty"` // decline message or cancel reason
	CreatedAt      int64  `json:"created_at"`       // unix seconds, Sim clock
}

const ledgerLimit = 10000

// handleLedger lists every charge and cancel, oldest first:
// GET /_sim/ledger[?order_id=X].
func (s *Sim) handleLedger(w http.ResponseWriter, r *http.Request) {
	q := `SELECT id, kind, order_id, tid, cancel_tid, key_hash, amount, status, reason, created_at FROM tp_ledger`
	var args []any
	if id := r.URL.Query().Get("order_id"); id != "" {
		q += ` WHERE order_id = ?`
		args = append(args, id)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, ledgerLimit)
	rows, err := s.db.QueryContext(r.Context(), q, args...)
	if err != nil {
		s.internal(w, "ledger", err)
		return
	}
	defer rows.Close()
	out := []ledgerEntry{}
	for rows.Next() {
		var e ledgerEntry
		if err := rows.Scan(&e.ID, &e.Kind, &e.OrderID, &e.TID, &e.CancelTID, &e.BillingKeyHash, &e.Amount, &e.Status,
			&e.Reason, &e.CreatedAt); err != nil {
			s.internal(w, "ledger", err)
			return
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		s.internal(w, "ledger", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// simConfig is GET/PUT /_sim/config. Omitted fields are left unchanged.
type simConfig struct {
	DelayMS *int `json:"delay_ms,omitempty"` // every charge response
	SlowMS  *int `json:"slow_ms,omitempty"`  // the slow card's charges
}

// handleConfig reads or changes the artificial delays (bounded by MaxDelayMS).
func (s *Sim) handleConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		var req simConfig
		if !decode(w, r, &req) {
			return
		}
		if req.DelayMS != nil {
			s.delayMS.Store(int64(boundMS(*req.DelayMS)))
		}
		if req.SlowMS != nil {
			v := boundMS(*req.SlowMS)
			if v == 0 {
				v = DefaultSlowMS
			}
			s.slowMS.Store(int64(v))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"delay_ms": s.delayMS.Load(), "slow_ms": s.slowMS.Load(),
		"max_delay_ms": MaxDelayMS})
}

// SetDelay sets the delay of every charge response (bounded by MaxDelayMS).
func (s *Sim) SetDelay(d time.Duration) { s.delayMS.Store(int64(boundMS(int(d.Milliseconds())))) }
