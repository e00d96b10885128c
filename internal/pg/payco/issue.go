package payco

import (
	"context"
	"encoding/json"
	"path"
	"strings"

	"billkey/internal/pg"
)

// State keys kept between StartIssue and CompleteIssue (not secret).
const (
	stateReserveNo = "reserve_order_no"
	stateRefKey    = "seller_auto_payment_reference_key"
	stateSimID     = "sim_id" // the id the emulator's headless buyer step takes
)

// StartIssue reserves an automatic-payment registration. req.Amount is only
// displayed on PAYCO's page; registration never charges.
func (c *Connector) StartIssue(ctx context.Context, ch pg.Channel, req pg.IssueRequest) (pg.IssueStart, error) {
	cr, err := channelCreds(ch)
	if err != nil {
		return pg.IssueStart{}, err
	}
	if cr.cpID == "" {
		return pg.IssueStart{}, &pg.Error{Provider: provider, Code: "CONFIG", Message: "PAYCO cp_id is not configured"}
	}
	body := reserveRequest{
		SellerKey:                     cr.sellerKey,
		CpID:                          cr.cpID,
		SellerAutoPaymentReferenceKey: req.ImpUID,
		Currency:                      "KRW",
		TotalPaymentAmt:               req.Amount,
		ReturnURL:                     req.ReturnURL,
		ReturnURLParam:                mustJSON(map[string]string{"imp_uid": req.ImpUID}),
		OrderMethod:                   "EASYPAY_F",
		OrderChannel:                  "PC",
		InAppYn:                       "N",
		OrderTitle:                    req.Name,
	}
	if req.Mobile {
		body.OrderChannel = "MOBILE"
		if req.CancelURL != "" {
			// PAYCO's mobile window leaves through cancelMobileUrl on cancel.
			body.ExtraData = mustJSON(map[string]any{"cancelMobileUrl": req.CancelURL})
		}
	}
	var res reserveResult
	if err := c.call(ctx, ch.BaseURL, "/outseller/autoPayment/reserve", body, &res); err != nil {
		return pg.IssueStart{}, refusalAsError(err)
	}
	if res.ReserveOrderNo == "" || res.OrderSheetURL == "" {
		return pg.IssueStart{}, &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: "reserve without reserveOrderNo/orderSheetUrl"}
	}
	return pg.IssueStart{
		PCURL:     res.OrderSheetURL,
		MobileURL: res.OrderSheetURL,
		PGTID:     res.ReserveOrderNo,
		State: map[string]string{
			stateReserveNo: res.ReserveOrderNo,
			stateRefKey:    req.ImpUID,
			stateSimID:     path.Base(strings.SplitN(res.OrderSheetURL, "?", 2)[0]),
		},
	}, nil
}

// CompleteIssue reads what PAYCO attached to returnUrl and fetches the
// registration (autoPayment/info) to obtain the autoPaymentNo.
func (c *Connector) CompleteIssue(ctx context.Context, ch pg.Channel, req pg.IssueComplete) (pg.IssueResult, error) {
	cr, err := channelCreds(ch)
	if err != nil {
		return pg.IssueResult{}, err
	}
	reserveNo := req.State[stateReserveNo]
	failed := func(code, msg string) (pg.IssueResult, error) {
		return pg.IssueResult{Status: pg.StatusFailed, PayMethod: "card", PGTID: reserveNo, FailCode: code, FailReason: msg}, nil
	}
	p := req.Params
	if code := p.Get("code"); code != "" && code != codeOK {
		msg := p.Get("message")
		if msg == "" && code == codeUserCancel {
			msg = "사용자가 결제를 취소하였습니다."
		}
		return failed(code, msg)
	}
	refKey := req.State[stateRefKey]
	if refKey == "" {
		refKey = req.ImpUID
	}
	if got := p.Get("sellerAutoPaymentReferenceKey"); got != "" && got != refKey {
		return failed("REFERENCE_MISMATCH", "PAYCO returned another registration")
	}
	if got := p.Get("reserveOrderNo"); got != "" && reserveNo != "" && got != reserveNo {
		return failed("REFERENCE_MISMATCH", "PAYCO returned another reservation")
	}
	certify := p.Get("autoPaymentCertifyKey")
	if certify == "" {
		// No code and no certify key: the window ended without registering
		// (e.g. the buyer left through cancelMobileUrl).
		return failed(codeUserCancel, "자동결제 등록이 완료되지 않았습니다.")
	}
	var info infoResult
	err = c.call(ctx, ch.BaseURL, "/outseller/autoPayment/info",
		keyRequest{SellerKey: cr.sellerKey, SellerAutoPaymentReferenceKey: refKey, AutoPaymentCertifyKey: certify}, &info)
	if be, ok := err.(*bizError); ok && !be.isConfigRefusal() {
		return failed(be.Code, be.Message)
	}
	if err != nil {
		return pg.IssueResult{}, refusalAsError(err)
	}
	if info.AutoPaymentNo == "" {
		return pg.IssueResult{}, &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: "autoPayment/info without autoPaymentNo"}
	}
	if info.AutoPaymentCertifyKey != "" {
		certify = info.AutoPaymentCertifyKey
	}
	key := billingKey{AutoPaymentNo: info.AutoPaymentNo, CertifyKey: certify, RefKey: refKey}
	return pg.IssueResult{
		Status:     pg.StatusPaid,
		BillingKey: key.pack(),
		PayMethod:  "card",
		Card:       cardFrom(info.CorporationName, info.CorporationCode, info.PinNo),
		PGTID:      reserveNo,
		Charged:    false,
		PaidAt:     parseYmdt(info.RegistYmdt),
	}, nil
}

// refusalAsError turns a PAYCO refusal into a pg.Error (PAYCO did nothing);
// other errors pass through.
func refusalAsError(err error) error {
	if be, ok := err.(*bizError); ok {
		return be.asPGError()
	}
	return err
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // maps of strings: cannot fail
	return string(b)
}
