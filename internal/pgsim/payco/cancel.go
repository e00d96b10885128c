package payco

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
)

// cancelReq is the body of POST /outseller/order/cancel (payco.md §1.4).
type cancelReq struct {
	SellerKey               string          `json:"sellerKey"`
	OrderNo                 string          `json:"orderNo"`
	OrderCertifyKey         string          `json:"orderCertifyKey"`
	CancelTotalAmt          amount          `json:"cancelTotalAmt"`
	RequestMemo             string          `json:"requestMemo"`
	SellerOrderReferenceKey string          `json:"sellerOrderReferenceKey"`
	TotalCancelTaxfreeAmt   amount          `json:"totalCancelTaxfreeAmt"`
	TotalCancelTaxableAmt   amount          `json:"totalCancelTaxableAmt"`
	TotalCancelVatAmt       amount          `json:"totalCancelVatAmt"`
	TotalCancelPossibleAmt  amount          `json:"totalCancelPossibleAmt"`
	OrderProducts           []cancelProdReq `json:"orderProducts"`
}

type cancelProdReq struct {
	SellerOrderProductReferenceKey string `json:"sellerOrderProductReferenceKey"`
	CpID                           string `json:"cpId"`
	ProductID                      string `json:"productId"`
	ProductAmt                     amount `json:"productAmt"`
	CancelDetailContent            string `json:"cancelDetailContent"`
}

type cancelResult struct {
	OrderNo                    string                `json:"orderNo"`
	CancelTradeSeq             int64                 `json:"cancelTradeSeq"`
	TotalCancelPaymentAmt      int64                 `json:"totalCancelPaymentAmt"`
	RemainCancelPossibleAmt    int64                 `json:"remainCancelPossibleAmt"`
	CancelPaymentDetails       []cancelPaymentDetail `json:"cancelPaymentDetails"`
	CancelReceiptPaycoPointAmt int64                 `json:"cancelReceiptPaycoPointAmt"`
	CancelYmdt                 string                `json:"cancelYmdt"`
}

type cancelPaymentDetail struct {
	PaymentTradeNo       string `json:"paymentTradeNo"`
	PaymentMethodCode    string `json:"paymentMethodCode"`
	PaymentMethodName    string `json:"paymentMethodName"`
	CancelPaymentAmt     int64  `json:"cancelPaymentAmt"`
	TradeYmdt            string `json:"tradeYmdt"`
	CancelPaymentTradeNo string `json:"cancelPaymentTradeNo"`
	CancelTaxableAmt     int64  `json:"cancelTaxableAmt"`
	CancelTaxfreeAmt     int64  `json:"cancelTaxfreeAmt"`
	CancelVatAmt         int64  `json:"cancelVatAmt"`
	CancelServiceAmt     int64  `json:"cancelServiceAmt"`
}

func (s *Sim) handleCancel(w http.ResponseWriter, r *http.Request) {
	var req cancelReq
	if e := decodeBody(r, &req); e != nil {
		writeResult(w, nil, e)
		return
	}
	if e := s.checkSeller(req.SellerKey); e != nil {
		writeResult(w, nil, e)
		return
	}
	switch {
	case req.OrderNo == "" || req.OrderCertifyKey == "":
		writeResult(w, nil, failMsg(codeBadRequest, "orderNo, orderCertifyKey"))
		return
	case !req.CancelTotalAmt.Set || req.CancelTotalAmt.V <= 0:
		writeResult(w, nil, failMsg(codeBadRequest, "cancelTotalAmt"))
		return
	case req.TotalCancelTaxfreeAmt.V < 0 || req.TotalCancelTaxfreeAmt.V > req.CancelTotalAmt.V:
		writeResult(w, nil, failMsg(codeBadRequest, "totalCancelTaxfreeAmt"))
		return
	}
	res, e, err := s.applyCancel(r.Context(), req)
	if err != nil {
		s.internal(w, "cancel", err)
		return
	}
	writeResult(w, res, e)
}

func (s *Sim) applyCancel(ctx context.Context, req cancelReq) (*cancelResult, *apiError, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	o, ok, err := orderByNo(ctx, tx, req.SellerKey, req.OrderNo)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, fail(codeOrderNotFound), nil
	}
	if o.CertifyKey != req.OrderCertifyKey {
		return nil, fail(codeCertifyInvalid), nil
	}
	remain := o.Amount - o.Cancelled
	amt := req.CancelTotalAmt.V
	switch {
	case remain <= 0:
		return nil, fail(codeNothingToRefund), nil
	case req.TotalCancelPossibleAmt.Set && req.TotalCancelPossibleAmt.V != remain:
		return nil, failMsg(codeCancelMismatch, "remaining "+strconv.FormatInt(remain, 10)), nil
	case amt > remain:
		return nil, failMsg(codeCancelExceeds, "remaining "+strconv.FormatInt(remain, 10)), nil
	}
	now := s.now()
	seq := o.CancelSeq + 1
	tradeNo := fmt.Sprintf("%s%02d", o.TradeNo, seq)
	if _, err := tx.ExecContext(ctx, `UPDATE pc_orders SET cancelled = cancelled + ?, cancel_seq = ? WHERE order_no = ?`,
		amt, seq, o.No); err != nil {
		return nil, nil, err
	}
	if err := insertLedger(ctx, tx, "cancel", o.No, o.RefKey, o.AutoPayNo, amt, tradeNo, now.Unix()); err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	taxfree := req.TotalCancelTaxfreeAmt.V
	taxable, vat := vatSplit(amt, taxfree)
	if req.TotalCancelTaxableAmt.Set || req.TotalCancelVatAmt.Set {
		taxable, vat = req.TotalCancelTaxableAmt.V, req.TotalCancelVatAmt.V
	}
	at := ymdt(now)
	return &cancelResult{
		OrderNo:                 o.No,
		CancelTradeSeq:          seq,
		TotalCancelPaymentAmt:   amt,
		RemainCancelPossibleAmt: remain - amt,
		CancelPaymentDetails: []cancelPaymentDetail{{
			PaymentTradeNo:       o.TradeNo,
			PaymentMethodCode:    "31",
			PaymentMethodName:    "신용카드",
			CancelPaymentAmt:     amt,
			TradeYmdt:            at,
			CancelPaymentTradeNo: tradeNo,
			CancelTaxableAmt:     taxable,
			CancelTaxfreeAmt:     taxfree,
			CancelVatAmt:         vat,
		}},
		CancelYmdt: at,
	}, nil, nil
}

var receiptPage = template.Must(template.New("receipt").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>PAYCO 영수증 (emulator)</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto">
<h1>PAYCO 카드 영수증 <small>(test emulator)</small></h1>
<table>
<tr><th align="left">주문번호</th><td>{{.No}}</td></tr>
<tr><th align="left">상품</th><td>{{.Title}}</td></tr>
<tr><th align="left">결제금액</th><td>{{.Amount}}원</td></tr>
<tr><th align="left">취소금액</th><td>{{.Cancelled}}원</td></tr>
<tr><th align="left">승인번호</th><td>{{.AdmissionNo}}</td></tr>
</table></body></html>`))

func (s *Sim) handleReceipt(w http.ResponseWriter, r *http.Request) {
	var o orderRow
	err := s.db.QueryRowContext(r.Context(), `SELECT order_no, order_title, amount, cancelled, admission_no
 FROM pc_orders WHERE order_no = ?`, r.PathValue("orderNo")).Scan(&o.No, &o.Title, &o.Amount, &o.Cancelled, &o.AdmissionNo)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = receiptPage.Execute(w, o)
}
