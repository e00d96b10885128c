package payco

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// buyerError is why a buyer step could not run (shown on the page or as JSON).
type buyerError struct {
	status int
	msg    string
}

// buyerAct performs what the buyer does on the order sheet: register a card,
// cancel, or fail. It returns the URL PAYCO sends the browser to.
func (s *Sim) buyerAct(ctx context.Context, no, action, cardID string) (string, *buyerError) {
	rv, ok, err := s.getReserve(ctx, no)
	if err != nil {
		s.log.Printf("pgsim/payco: buyer: %v", err)
		return "", &buyerError{http.StatusInternalServerError, "internal error"}
	}
	if !ok {
		return "", &buyerError{http.StatusNotFound, codeMessages[codeReserveNotFound]}
	}
	if rv.Status != "reserved" {
		return "", &buyerError{http.StatusConflict, codeMessages[codeReserveUsed]}
	}
	now := s.now()
	if now.Unix() > rv.ExpiresAt {
		return "", &buyerError{http.StatusGone, codeMessages[codeReserveExpired]}
	}
	card, ok := findCard(cardID)
	if !ok {
		return "", &buyerError{http.StatusBadRequest, fmt.Sprintf("unknown test card %q", cardID)}
	}
	params := url.Values{}
	params.Set("reserveOrderNo", rv.No)
	params.Set("sellerAutoPaymentReferenceKey", rv.RefKey)
	target := rv.ReturnURL
	var status string
	var ap *autopayRow
	switch action {
	case "register":
		if card.RegisterC != 0 {
			status = "failed"
			setCode(params, card.RegisterC)
			break
		}
		status = "registered"
		ap = &autopayRow{No: now.In(kst).Format("0601") + digits(12), CertifyKey: secretHex(16),
			SellerKey: rv.SellerKey, RefKey: rv.RefKey, Card: card.ID, ReserveNo: rv.No, Status: "active",
			RegisteredAt: now.Unix()}
		setCode(params, codeOK)
		params.Set("autoPaymentCertifyKey", ap.CertifyKey)
	case "cancel":
		status = "cancelled"
		setCode(params, codeUserCancel)
		if rv.Channel == "MOBILE" && rv.CancelMURL != "" {
			target = rv.CancelMURL
		}
	case "fail":
		status = "failed"
		setCode(params, codeRegisterFailed)
	default:
		return "", &buyerError{http.StatusBadRequest, fmt.Sprintf("unknown action %q (register, cancel, fail)", action)}
	}
	if berr := s.finishReserve(ctx, rv.No, status, ap); berr != nil {
		return "", berr
	}
	return withParams(target, params, rv.ReturnURLParam), nil
}

func setCode(p url.Values, code int) {
	p.Set("code", fmt.Sprint(code))
	p.Set("message", codeMessages[code])
}

// finishReserve moves a reserve out of "reserved" exactly once, creating the
// registration when there is one.
func (s *Sim) finishReserve(ctx context.Context, no, status string, ap *autopayRow) *buyerError {
	internal := func(err error) *buyerError {
		s.log.Printf("pgsim/payco: buyer: %v", err)
		return &buyerError{http.StatusInternalServerError, "internal error"}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return internal(err)
	}
	defer tx.Rollback()
	apNo := ""
	if ap != nil {
		apNo = ap.No
	}
	res, err := tx.ExecContext(ctx, `UPDATE pc_reserves SET status = ?, auto_payment_no = ?
 WHERE reserve_order_no = ? AND status = 'reserved'`, status, apNo, no)
	if err != nil {
		return internal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &buyerError{http.StatusConflict, codeMessages[codeReserveUsed]}
	}
	if ap != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pc_autopay (`+autopayCols+`) VALUES (?,?,?,?,?,?,?,?)`,
			ap.No, ap.CertifyKey, ap.SellerKey, ap.RefKey, ap.Card, ap.ReserveNo, ap.Status, ap.RegisteredAt); err != nil {
			return internal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return internal(err)
	}
	return nil
}

// withParams adds PAYCO's parameters and the returnUrlParam keys (echoed back
// as parameters) to target's query. PAYCO's own parameters win on a clash.
func withParams(target string, p url.Values, returnURLParam string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	if returnURLParam != "" {
		var extra map[string]any
		if json.Unmarshal([]byte(returnURLParam), &extra) == nil {
			for k, v := range extra {
				if s, ok := v.(string); ok {
					q.Set(k, s)
				} else if b, err := json.Marshal(v); err == nil {
					q.Set(k, string(b))
				}
			}
		}
	}
	for k, vs := range p {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// handleBuyer is the headless buyer step:
// POST /_sim/buyer/{reserveOrderNo} {"action":..., "card":...} -> {"redirect_url":...}.
func (s *Sim) handleBuyer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		Card   string `json:"card"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {action, card}"})
		return
	}
	redirect, berr := s.buyerAct(r.Context(), r.PathValue("no"), req.Action, req.Card)
	if berr != nil {
		writeJSON(w, berr.status, map[string]string{"error": berr.msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect_url": redirect})
}
