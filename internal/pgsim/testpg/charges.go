package testpg

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// chargeReq is POST /v1/charges.
type chargeReq struct {
	BillingKey string `json:"billing_key"`
	OrderID    string `json:"order_id"`
	Amount     int64  `json:"amount"`
	TaxFree    int64  `json:"tax_free"`
	Name       string `json:"name"`
}

// chargeResp is a charge record, as POST and GET /v1/charges answer it.
type chargeResp struct {
	TID             string `json:"tid"`
	OrderID         string `json:"order_id"`
	Status          string `json:"status"` // paid | failed
	Amount          int64  `json:"amount"`
	TaxFree         int64  `json:"tax_free"`
	CancelledAmount int64  `json:"cancelled_amount"`
	Name            string `json:"name"`
	PaidAt          int64  `json:"paid_at,omitempty"`   // unix seconds
	FailedAt        int64  `json:"failed_at,omitempty"` // unix seconds
	ApplyNum        string `json:"apply_num,omitempty"`
	CardName        string `json:"card_name"`
	CardCode        string `json:"card_code"`
	CardNumber      string `json:"card_number"` // masked
	CardType        int    `json:"card_type"`
	FailCode        string `json:"fail_code,omitempty"`
	FailMessage     string `json:"fail_message,omitempty"`
	ReceiptURL      string `json:"receipt_url,omitempty"`
}

func (s *Sim) chargeResp(c chargeRow) chargeResp {
	cd := cardBehaviour(c.Card)
	out := chargeResp{TID: c.TID, OrderID: c.OrderID, Status: c.Status, Amount: c.Amount, TaxFree: c.TaxFree,
		CancelledAmount: c.Cancelled, Name: c.Name, ApplyNum: c.ApplyNum, CardName: cd.Name, CardCode: cd.Code,
		CardNumber: c.CardNumber, CardType: cd.Type, FailCode: c.FailCode, FailMessage: c.FailMessage}
	if c.Status == "paid" {
		out.PaidAt = c.CreatedAt
	} else {
		out.FailedAt = c.CreatedAt
	}
	return out
}

// writeCharge answers a charge outcome: 200 with the record when paid, 402
// {code, message, tid} when declined.
func (s *Sim) writeCharge(w http.ResponseWriter, c chargeRow) {
	if c.Status != "paid" {
		writeJSON(w, http.StatusPaymentRequired, apiError{Code: c.FailCode, Message: c.FailMessage, TID: c.TID})
		return
	}
	writeJSON(w, http.StatusOK, s.chargeResp(c))
}

// handleCharge is POST /v1/charges. It is idempotent by order_id: a repeated
// order_id gets the first outcome back and nothing is charged again.
func (s *Sim) handleCharge(w http.ResponseWriter, r *http.Request) {
	var req chargeReq
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.OrderID == "":
		writeErr(w, http.StatusBadRequest, codeBadRequest, "order_id is required")
		return
	case req.BillingKey == "":
		writeErr(w, http.StatusBadRequest, codeBadRequest, "billing_key is required")
		return
	case req.Amount <= 0:
		writeErr(w, http.StatusBadRequest, codeBadRequest, "amount must be positive")
		return
	case req.TaxFree < 0 || req.TaxFree > req.Amount:
		writeErr(w, http.StatusBadRequest, codeBadRequest, "tax_free must be between 0 and amount")
		return
	}
	// Once received, a charge is processed even if the client goes away (the
	// outcome the client never saw is what Lookup is for).
	c, pgError, err := s.charge(context.WithoutCancel(r.Context()), req)
	if err != nil {
		s.internal(w, "charge", err)
		return
	}
	delay := time.Duration(s.delayMS.Load()) * time.Millisecond
	if c.Status == "paid" && cardBehaviour(c.Card).ChargeSlow {
		delay += time.Duration(s.slowMS.Load()) * time.Millisecond
	}
	if !s.sleep(r, delay) {
		return // the client went away (or the Sim closed): nobody to answer
	}
	if pgError {
		writeErr(w, http.StatusInternalServerError, codePGError, "일시적인 PG 장애 (simulated PG error, nothing charged)")
		return
	}
	s.writeCharge(w, c)
}

// charge records the outcome of req (or finds the recorded one). pgError
// means the card answers HTTP 500 and nothing was recorded.
func (s *Sim) charge(ctx context.Context, req chargeReq) (chargeRow, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return chargeRow{}, false, err
	}
	defer tx.Rollback()
	if c, ok, err := getCharge(ctx, tx, "order_id", req.OrderID); err != nil || ok {
		return c, false, err
	}
	hash := hashSecret(req.BillingKey)
	k, found, err := getKey(ctx, tx, hash)
	if err != nil {
		return chargeRow{}, false, err
	}
	now := s.now().Unix()
	c := chargeRow{TID: "tpt_" + randHex(10), OrderID: req.OrderID, KeyHash: hash, Amount: req.Amount, TaxFree: req.TaxFree,
		Name: req.Name, Status: "paid", Card: k.Card, CardNumber: k.CardNumber, CreatedAt: now}
	cd := cardBehaviour(k.Card)
	var d *decline
	switch {
	case !found:
		d, c.Card = declineKeyUnknown, cardDefaultID
	case k.Status != "active":
		d = declineKeyDeleted
	case req.Amount%100 == 13:
		d = declineAmount13
	case cd.ChargeError:
		return c, true, nil // rolled back: nothing recorded
	case cd.ChargeDecline != nil:
		d = cd.ChargeDecline
	}
	if d != nil {
		c.Status, c.FailCode, c.FailMessage = "failed", d.Code, d.Message
	} else {
		c.ApplyNum = digits(8)
	}
	if err := insertCharge(ctx, tx, c); err != nil {
		return chargeRow{}, false, err
	}
	return c, false, tx.Commit()
}

// handleFindCharge is GET /v1/charges?order_id= and GET /v1/charges/{tid}:
// the charge record, or 404 CHARGE_NOT_FOUND when the PG never recorded one.
func (s *Sim) handleFindCharge(w http.ResponseWriter, r *http.Request) {
	col, v := "tid", r.PathValue("tid")
	if v == "" {
		col, v = "order_id", r.URL.Query().Get("order_id")
	}
	if v == "" {
		writeErr(w, http.StatusBadRequest, codeBadRequest, "order_id is required")
		return
	}
	c, ok, err := getCharge(r.Context(), s.db, col, v)
	if err != nil {
		s.internal(w, "find charge", err)
		return
	}
	if !ok {
		writeErr(w, http.StatusNotFound, codeChargeNotFound, "결제 내역이 없습니다 (no such charge)")
		return
	}
	writeJSON(w, http.StatusOK, s.chargeResp(c))
}

// cancelReq is POST /v1/charges/{tid}/cancel; amount 0 cancels the rest.
type cancelReq struct {
	Amount int64  `json:"amount"`
	Reason string `json:"reason"`
}

type cancelResp struct {
	CancelTID       string `json:"cancel_tid"`
	TID             string `json:"tid"`
	OrderID         string `json:"order_id"`
	Amount          int64  `json:"amount"`
	CancelledAmount int64  `json:"cancelled_amount"` // total so far
	Remaining       int64  `json:"remaining"`
	Status          string `json:"status"` // cancelled | partial_cancelled
	Reason          string `json:"reason"`
	CancelledAt     int64  `json:"cancelled_at"` // unix seconds
}

type refusal struct {
	status      int
	code, msg   string
	internalErr error
}

func (s *Sim) handleCancel(w http.ResponseWriter, r *http.Request) {
	var req cancelReq
	if !decode(w, r, &req) {
		return
	}
	if req.Amount < 0 {
		writeErr(w, http.StatusBadRequest, codeBadRequest, "amount must not be negative")
		return
	}
	out, ref := s.cancel(context.WithoutCancel(r.Context()), r.PathValue("tid"), req)
	if ref != nil {
		if ref.internalErr != nil {
			s.internal(w, "cancel", ref.internalErr)
			return
		}
		writeErr(w, ref.status, ref.code, ref.msg)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) cancel(ctx context.Context, tid string, req cancelReq) (cancelResp, *refusal) {
	fail := func(err error) (cancelResp, *refusal) { return cancelResp{}, &refusal{internalErr: err} }
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	c, ok, err := getCharge(ctx, tx, "tid", tid)
	if err != nil {
		return fail(err)
	}
	remaining := c.Amount - c.Cancelled
	amt := req.Amount
	if amt == 0 {
		amt = remaining
	}
	switch {
	case !ok:
		return cancelResp{}, &refusal{http.StatusNotFound, codeChargeNotFound, "취소할 결제 내역이 없습니다 (no such charge)", nil}
	case c.Status != "paid":
		return cancelResp{}, &refusal{http.StatusConflict, codeNotPaid, "승인되지 않은 거래는 취소할 수 없습니다 (charge was not paid)", nil}
	case remaining <= 0:
		return cancelResp{}, &refusal{http.StatusConflict, codeCancelled, "이미 전액 취소된 거래입니다 (already fully cancelled)", nil}
	case amt > remaining:
		return cancelResp{}, &refusal{http.StatusConflict, codeOverCancel, "취소 가능 금액을 초과했습니다 (cancel amount exceeds the remaining balance)", nil}
	}
	now := s.now().Unix()
	out := cancelResp{CancelTID: "tpc_" + randHex(10), TID: c.TID, OrderID: c.OrderID, Amount: amt,
		CancelledAmount: c.Cancelled + amt, Remaining: remaining - amt, Status: "partial_cancelled", Reason: req.Reason, CancelledAt: now}
	if out.Remaining == 0 {
		out.Status = "cancelled"
	}
	res, err := tx.ExecContext(ctx, `UPDATE tp_charges SET cancelled = cancelled + ? WHERE tid = ? AND cancelled = ?`, amt, c.TID, c.Cancelled)
	if err != nil {
		return fail(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fail(errors.New("charge changed during cancel"))
	}
	if err := insertLedger(ctx, tx, ledgerRow{Kind: "cancel", OrderID: c.OrderID, TID: c.TID, CancelTID: out.CancelTID,
		KeyHash: c.KeyHash, Amount: amt, Status: "cancelled", Reason: req.Reason, CreatedAt: now}); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return out, nil
}
