package payco

import (
	"context"
	"errors"
	"strconv"

	"billkey/internal/pg"
)

// Cancel refunds part or all of a charge with order/cancel. PAYCO wants the
// orderCertifyKey of the charge, which pg.CancelRequest cannot carry (PGTID is
// not secret), so the connector fetches it first by order number (req.ImpUID).
func (c *Connector) Cancel(ctx context.Context, ch pg.Channel, req pg.CancelRequest) (pg.CancelResult, error) {
	cr, err := channelCreds(ch)
	if err != nil {
		return pg.CancelResult{}, err
	}
	if req.Amount <= 0 {
		return pg.CancelResult{}, &pg.Error{Provider: provider, Code: "BAD_REQUEST", Message: "cancel amount must be positive"}
	}
	o, err := c.findOrder(ctx, ch, req.ImpUID)
	if err != nil {
		var pe *pg.Error
		if errors.As(err, &pe) {
			// A failed lookup cancelled nothing.
			pe.Unknown = false
			return pg.CancelResult{}, pe
		}
		return pg.CancelResult{}, refusalAsError(err)
	}
	if req.PGTID != "" && o.OrderNo != req.PGTID {
		return pg.CancelResult{}, &pg.Error{Provider: provider, Code: "ORDER_MISMATCH", Message: "PAYCO orderNo differs from the payment's pg_tid"}
	}
	taxable, vat := vatSplit(req.Amount, req.TaxFree, req.VatAmount)
	body := cancelRequest{
		SellerKey:               cr.sellerKey,
		OrderNo:                 o.OrderNo,
		OrderCertifyKey:         o.OrderCertifyKey,
		CancelTotalAmt:          req.Amount,
		RequestMemo:             req.Reason,
		SellerOrderReferenceKey: req.ImpUID,
		TotalCancelTaxfreeAmt:   req.TaxFree,
		TotalCancelTaxableAmt:   taxable,
		TotalCancelVatAmt:       vat,
		// Optimistic check: PAYCO refuses when its cancellable balance is not
		// what billkey believes, so a replayed cancel cannot refund twice.
		TotalCancelPossibleAmt: req.Remaining,
	}
	partial := req.TotalAmount > 0 && req.Amount < req.TotalAmount
	if partial && cr.cpID != "" && cr.productID != "" {
		body.OrderProducts = []cancelOrderProduct{{
			SellerOrderProductReferenceKey: req.ImpUID, CpID: cr.cpID, ProductID: cr.productID,
			ProductAmt: req.Amount, CancelDetailContent: req.Reason,
		}}
	}
	var res cancelResult
	if err := c.call(ctx, ch.BaseURL, "/outseller/order/cancel", body, &res); err != nil {
		return pg.CancelResult{}, refusalAsError(err)
	}
	id := o.OrderNo + "-" + strconv.FormatInt(int64(res.CancelTradeSeq), 10)
	if len(res.CancelPaymentDetails) > 0 && res.CancelPaymentDetails[0].CancelPaymentTradeNo != "" {
		id = res.CancelPaymentDetails[0].CancelPaymentTradeNo
	}
	return pg.CancelResult{
		PGTID:       id,
		CancelledAt: parseYmdt(res.CancelYmdt),
		ReceiptURL:  receiptURL(ch.BaseURL, o.OrderNo),
	}, nil
}

// DeleteKey deletes the registration with autoPayment/delete. A registration
// PAYCO no longer knows counts as deleted.
func (c *Connector) DeleteKey(ctx context.Context, ch pg.Channel, billingKey string) error {
	cr, err := channelCreds(ch)
	if err != nil {
		return err
	}
	key, err := unpackKey(billingKey)
	if err != nil {
		return err
	}
	err = c.call(ctx, ch.BaseURL, "/outseller/autoPayment/delete",
		keyRequest{SellerKey: cr.sellerKey, SellerAutoPaymentReferenceKey: key.RefKey, AutoPaymentCertifyKey: key.CertifyKey}, nil)
	var be *bizError
	if errors.As(err, &be) && be.Code == codeAutoPayNotFound {
		return nil
	}
	return refusalAsError(err)
}
