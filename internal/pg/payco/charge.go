package payco

import (
	"context"
	"errors"

	"billkey/internal/pg"
)

// Charge charges a registration with autoPayment/payment; the PAYCO order
// number (sellerOrderReferenceKey) is req.ImpUID.
func (c *Connector) Charge(ctx context.Context, ch pg.Channel, req pg.ChargeRequest) (pg.ChargeResult, error) {
	cr, err := channelCreds(ch)
	if err != nil {
		return pg.ChargeResult{}, err
	}
	key, err := unpackKey(req.BillingKey)
	if err != nil {
		return pg.ChargeResult{}, err
	}
	taxable, vat := vatSplit(req.Amount, req.TaxFree, req.VatAmount)
	body := paymentRequest{
		SellerKey:                   cr.sellerKey,
		AutoPaymentNo:               key.AutoPaymentNo,
		AutoPaymentCertifyKey:       key.CertifyKey,
		SellerOrderReferenceKey:     req.ImpUID,
		SellerOrderReferenceKeyType: "UNIQUE_KEY",
		Currency:                    "KRW",
		TotalPaymentAmt:             req.Amount,
		TotalTaxfreeAmt:             req.TaxFree,
		TotalTaxableAmt:             taxable,
		TotalVatAmt:                 vat,
		OrderTitle:                  req.Name,
	}
	if cr.cpID != "" && cr.productID != "" {
		body.OrderProducts = []orderProduct{{
			CpID: cr.cpID, ProductID: cr.productID,
			ProductAmt: req.Amount, ProductPaymentAmt: req.Amount,
			OrderQuantity: 1, SortOrdering: 1, ProductName: req.Name,
			SellerOrderProductReferenceKey: req.ImpUID,
			TaxationType:                   taxationType(req.Amount, req.TaxFree),
		}}
	}
	var res orderResult
	err = c.call(ctx, ch.BaseURL, "/outseller/autoPayment/payment", body, &res)
	var be *bizError
	if errors.As(err, &be) {
		switch {
		case be.isConfigRefusal():
			return pg.ChargeResult{}, be.asPGError()
		case be.Code == codeDuplicateOrder:
			// The order number was already used: a retry of a charge whose
			// answer was lost. Report what PAYCO holds for it.
			return c.duplicateCharge(ctx, ch, req, be)
		}
		return pg.ChargeResult{Status: pg.StatusFailed, PayMethod: "card", FailCode: be.Code, FailReason: be.Message}, nil
	}
	if err != nil {
		return pg.ChargeResult{}, err
	}
	if res.OrderNo == "" {
		return pg.ChargeResult{}, &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: "payment without orderNo", Unknown: true}
	}
	return chargeFromOrder(ch.BaseURL, res), nil
}

func (c *Connector) duplicateCharge(ctx context.Context, ch pg.Channel, req pg.ChargeRequest, be *bizError) (pg.ChargeResult, error) {
	o, err := c.findOrder(ctx, ch, req.ImpUID)
	if err == nil && int64(o.TotalPaymentAmt) == req.Amount {
		return chargeFromOrder(ch.BaseURL, o), nil
	}
	return pg.ChargeResult{Status: pg.StatusFailed, PayMethod: "card", FailCode: be.Code, FailReason: be.Message}, nil
}

func taxationType(amount, taxfree int64) string {
	switch {
	case taxfree <= 0:
		return "TAXATION"
	case taxfree >= amount:
		return "DUTYFREE"
	}
	return "COMBINE"
}

func chargeFromOrder(baseURL string, o orderResult) pg.ChargeResult {
	r := pg.ChargeResult{
		Status:     pg.StatusPaid,
		PGTID:      o.OrderNo,
		PayMethod:  "card",
		PaidAt:     parseYmdt(o.PaymentCompleteYmdt),
		ReceiptURL: receiptURL(baseURL, o.OrderNo),
	}
	for _, d := range o.PaymentDetails {
		if d.CardSettleInfo == nil {
			continue
		}
		ci := d.CardSettleInfo
		r.Card = cardFrom(ci.CardCompanyName, ci.CardCompanyCode, ci.CardNo)
		r.ApplyNum = ci.CardAdmissionNo
		if r.ApplyNum == "" {
			r.ApplyNum = d.PgAdmissionNo
		}
		break
	}
	return r
}

// Lookup asks PAYCO for the order billkey sent as req.ImpUID, through
// payment/approval/getDetailForVerify by sellerOrderReferenceKey (no PG tid
// needed, so crash recovery works). PAYCO documents this call for window
// orders with a reserveOrderNo; that it finds auto-payment orders by
// sellerOrderReferenceKey alone is inferred (see docs/pg-payco.md).
func (c *Connector) Lookup(ctx context.Context, ch pg.Channel, req pg.LookupRequest) (pg.LookupResult, error) {
	o, err := c.findOrder(ctx, ch, req.ImpUID)
	var be *bizError
	if errors.As(err, &be) && be.Code == codeOrderNotFound {
		return pg.LookupResult{Found: false}, nil
	}
	if err != nil {
		return pg.LookupResult{}, refusalAsError(err)
	}
	if req.PGTID != "" && o.OrderNo != req.PGTID {
		return pg.LookupResult{}, &pg.Error{Provider: provider, Code: "ORDER_MISMATCH",
			Message: "PAYCO order for this order number has another orderNo", Unknown: true}
	}
	return pg.LookupResult{Found: true, Charge: chargeFromOrder(ch.BaseURL, o)}, nil
}

// findOrder fetches an order (with its orderCertifyKey) by the merchant's order number.
func (c *Connector) findOrder(ctx context.Context, ch pg.Channel, orderRef string) (orderResult, error) {
	cr, err := channelCreds(ch)
	if err != nil {
		return orderResult{}, err
	}
	var o orderResult
	err = c.call(ctx, ch.BaseURL, "/outseller/payment/approval/getDetailForVerify",
		detailRequest{SellerKey: cr.sellerKey, SellerOrderReferenceKey: orderRef}, &o)
	if err == nil && o.OrderNo == "" {
		err = &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: "order detail without orderNo", Unknown: true}
	}
	return o, err
}
