package kakaopay

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// ledgerEntry is one money movement the emulator made.
type ledgerEntry struct {
	TID            string `json:"tid"`
	AID            string `json:"aid"`
	CID            string `json:"cid"`
	SID            string `json:"sid"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	Amount         int64  `json:"amount"`
	TaxFree        int64  `json:"tax_free"`
	Kind           string `json:"kind"` // approve, subscription, cancel
	PaymentMethod  string `json:"payment_method"`
	CreatedAt      int64  `json:"created_at"`
}

// ledger is GET /_sim/ledger[?partner_order_id=][&cid=]: every charge
// (approve with an amount, subscription) and cancel, oldest first. SID-only
// issuances (0 won) move no money and are not listed.
func (s *Sim) ledger(w http.ResponseWriter, r *http.Request) {
	where := []string{"kind IN ('approve','subscription','cancel')"}
	var args []any
	q := r.URL.Query()
	if v := q.Get("partner_order_id"); v != "" {
		where = append(where, "partner_order_id = ?")
		args = append(args, v)
	}
	if v := q.Get("cid"); v != "" {
		where = append(where, "cid = ?")
		args = append(args, v)
	}
	acts, err := listActions(r.Context(), s.db, strings.Join(where, " AND "), args...)
	if err != nil {
		writeErr(w, internalErr(err))
		return
	}
	out := make([]ledgerEntry, 0, len(acts))
	for _, a := range acts {
		out = append(out, ledgerEntry{TID: a.TID, AID: a.AID, CID: a.CID, SID: a.SID,
			PartnerOrderID: a.PartnerOrderID, PartnerUserID: a.PartnerUserID, Amount: a.Amount, TaxFree: a.TaxFree,
			Kind: a.Kind, PaymentMethod: a.Method, CreatedAt: a.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

// getCID is GET /_sim/cids/{cid}: the CID's emulator settings.
func (s *Sim) getCID(w http.ResponseWriter, r *http.Request) {
	c, err := getCIDConfig(r.Context(), s.db, r.PathValue("cid"))
	if err != nil {
		writeErr(w, internalErr(err))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// putCID is PUT /_sim/cids/{cid} {"monthly_limit":N[,"one_time":bool]}.
// Omitted fields keep their current value.
func (s *Sim) putCID(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MonthlyLimit *int64 `json:"monthly_limit"`
		OneTime      *bool  `json:"one_time"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeErr(w, fail(codeBadParam, "body must be JSON {\"monthly_limit\":N}"))
		return
	}
	if req.MonthlyLimit != nil && *req.MonthlyLimit < 0 {
		writeErr(w, fail(codeBadParam, "monthly_limit must be >= 0"))
		return
	}
	cid := r.PathValue("cid")
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := getCIDConfig(r.Context(), s.db, cid)
	if err != nil {
		writeErr(w, internalErr(err))
		return
	}
	if req.MonthlyLimit != nil {
		c.MonthlyLimit = *req.MonthlyLimit
	}
	if req.OneTime != nil {
		c.OneTime = *req.OneTime
	}
	if err := putCIDConfig(r.Context(), s.db, cid, c); err != nil {
		writeErr(w, internalErr(err))
		return
	}
	writeJSON(w, http.StatusOK, c)
}
