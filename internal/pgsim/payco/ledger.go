package payco

import (
	"net/http"
)

// ledgerEntry is one money movement in the emulator: a charge or a cancel.
type ledgerEntry struct {
	ID            int64  `json:"id"`
	Kind          string `json:"kind"`           // "charge" | "cancel"
	OrderNo       string `json:"order_no"`       // the merchant's order number (sellerOrderReferenceKey = billkey imp_uid)
	PaycoOrderNo  string `json:"payco_order_no"` // PAYCO's orderNo (billkey pg_tid)
	AutoPaymentNo string `json:"auto_payment_no"`
	Amount        int64  `json:"amount"`
	TradeNo       string `json:"trade_no"`
	CreatedAt     int64  `json:"created_at"` // unix seconds, Sim clock
}

const ledgerLimit = 10000

// handleLedger lists every charge and cancel, oldest first:
// GET /_sim/ledger[?order_no=X] (X matches either the merchant's or PAYCO's order number).
func (s *Sim) handleLedger(w http.ResponseWriter, r *http.Request) {
	q := `SELECT id, kind, order_no, seller_order_ref_key, auto_payment_no, amount, trade_no, created_at FROM pc_ledger`
	var args []any
	if no := r.URL.Query().Get("order_no"); no != "" {
		q += ` WHERE seller_order_ref_key = ? OR order_no = ?`
		args = append(args, no, no)
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
		if err := rows.Scan(&e.ID, &e.Kind, &e.PaycoOrderNo, &e.OrderNo, &e.AutoPaymentNo, &e.Amount, &e.TradeNo, &e.CreatedAt); err != nil {
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
