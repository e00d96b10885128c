package billing

import (
	"context"

	"fmt"

	"billkey/internal/pg"
	"billkey/internal/store"
)

// PGStateCancelling marks a payment whose cancel is at the PG right now; it
// keeps a second cancel from running at the same time.
const PGStateCancelling = "cancelling"

// CancelInput is POST /payments/cancel.
type CancelInput struct {
	ImpUID        string
	MerchantUID   string
	Amount        int64 // 0: the whole remaining balance
	TaxFree       int64
	VatAmount     *int64
	Checksum      *int64 // the balance the merchant believes is left; nil skips the check
	Reason        string
	EnableWebhook bool
}

// Cancel cancels all or part of a paid payment.
func (s *Service) Cancel(ctx context.Context, merchantID int64, in CancelInput) (store.Payment, error) {
	if in.ImpUID == "" && in.MerchantUID == "" {
		return store.Payment{}, invalid("imp_uid 또는 merchant_uid 중 하나는 필수입니다. (imp_uid or merchant_uid is required)")
	}
	if in.Amount < 0 || in.TaxFree < 0 {
		return store.Payment{}, invalid("amount와 tax_free는 0 이상이어야 합니다. (amounts must not be negative)")
	}
	if err := checkLen("reason", in.Reason, 64); err != nil {
		return store.Payment{}, err
	}
	p, err := s.findCancellable(ctx, merchantID, in)
	if err != nil {
		return store.Payment{}, err
	}
	if p.Status != "paid" && p.Status != "cancelled" {
		return store.Payment{}, refused("결제완료 상태가 아니어서 취소할 수 없습니다. (status is %s)", p.Status)
	}
	remaining := p.Amount - p.CancelAmount
	if remaining <= 0 {
		return store.Payment{}, refused(MsgAlreadyCancelled)
	}
	if in.Checksum != nil && *in.Checksum != remaining {
		return store.Payment{}, refused("checksum(%d)이 취소 가능 잔액(%d)과 일치하지 않습니다. (checksum does not match the cancellable balance)", *in.Checksum, remaining)
	}
	amount := in.Amount
	if amount == 0 {
		amount = remaining
	}
	if amount > remaining {
		return store.Payment{}, refused("취소 요청 금액(%d)이 취소 가능 잔액(%d)보다 큽니다. (amount exceeds the cancellable balance)", amount, remaining)
	}
	if in.TaxFree > amount {
		return store.Payment{}, invalid("tax_free는 취소 금액 이하여야 합니다. (tax_free exceeds amount)")
	}
	ch, err := s.channelByID(ctx, merchantID, p.ChannelID)
	if err != nil {
		return store.Payment{}, err
	}
	// Claim the payment for this cancel (no transaction is held during the PG call).
	claim := p
	claim.PGState = PGStateCancelling
	claim.InflightUntil = s.leaseUntil()
	claim.UpdatedAt = s.now()
	err = s.writePayment(ctx, p, func(q store.Q) error {
		var err error
		claim, err = q.UpdatePayment(ctx, claim, store.PGStateNone, p.CancelAmount)
		return err
	})
	if store.IsNotFound(err) {
		return store.Payment{}, refused("다른 취소 요청이 처리 중이거나 결제 상태가 바뀌었습니다. 다시 조회 후 시도하세요. (the payment changed; look it up and retry)")
	}
	if err != nil {
		return store.Payment{}, err
	}
	var billingKey string
	if cust, err := s.Store.Read().Customer(ctx, merchantID, p.CustomerUID); err == nil && cust.ChannelID == p.ChannelID {
		if k, err := s.Vault.Open(ctx, merchantID, "billing-key", cust.BillingKeyEnc); err == nil {
			billingKey = string(k)
		}
	}
	pctx, cancel := s.pgCtx(ctx)
	res, callErr := ch.Connector.Cancel(pctx, ch.PG, pg.CancelRequest{ImpUID: p.ImpUID, PGTID: p.PGTID, Amount: amount,
		TaxFree: in.TaxFree, VatAmount: in.VatAmount, Remaining: remaining, TotalAmount: p.Amount, Reason: in.Reason, BillingKey: billingKey})
	cancel()
	wctx := context.WithoutCancel(ctx)
	if callErr != nil {
		if pg.IsUnknown(callErr) {
			// Keep the claim: whether the PG cancelled is unknown, so no other
			// cancel may run until an operator (or the PG's record) settles it.
			s.Log.Warn("cancel outcome unknown; payment left in cancelling state", "imp_uid", p.ImpUID, "err", callErr)
			return store.Payment{}, &Error{Kind: KindPG, Message: "결제취소 실패: " + pgErrorMessage(callErr), Err: callErr}
		}
		release := claim
		release.PGState, release.InflightUntil = store.PGStateNone, 0
		if err := s.writePayment(wctx, p, func(q store.Q) error {
			_, err := q.UpdatePayment(wctx, release, PGStateCancelling, claim.CancelAmount)
			return err
		}); err != nil {
			return store.Payment{}, err
		}
		return store.Payment{}, &Error{Kind: KindPG, Message: "결제취소 실패: " + pgErrorMessage(callErr), Err: callErr}
	}
	now := s.now()
	at := now
	if !res.CancelledAt.IsZero() {
		at = res.CancelledAt.Unix()
	}
	done := claim
	done.PGState, done.InflightUntil = store.PGStateNone, 0
	done.CancelAmount = claim.CancelAmount + amount
	done.Status = "cancelled"
	done.CancelReason = in.Reason
	done.CancelledAt = at
	done.UpdatedAt = now
	var out store.Payment
	err = s.writePayment(wctx, p, func(q store.Q) error {
		var err error
		out, err = q.UpdatePayment(wctx, done, PGStateCancelling, claim.CancelAmount)
		if err != nil {
			return err
		}
		if err := q.InsertCancel(wctx, store.Cancel{PaymentID: p.ID, PGTID: or(res.PGTID, p.PGTID), Amount: amount, Reason: in.Reason,
			CancelledAt: at, CancellationID: fmt.Sprintf("%s_c%d", p.ImpUID, len(p.Cancels)+1), ReceiptURL: res.ReceiptURL}); err != nil {
			return err
		}
		if in.EnableWebhook {
			return s.notify(wctx, q, out, EventCancelled)
		}
		return nil
	})
	if err != nil {
		return store.Payment{}, err
	}
	return s.Store.Read().Payment(wctx, merchantID, out.ImpUID)
}

// findCancellable: imp_uid wins when both are given (an unknown imp_uid fails
// even if merchant_uid is valid); by merchant_uid, the live (non-failed) payment.
func (s *Service) findCancellable(ctx context.Context, merchantID int64, in CancelInput) (store.Payment, error) {
	if in.ImpUID != "" {
		p, err := s.Store.Read().Payment(ctx, merchantID, in.ImpUID)
		if store.IsNotFound(err) {
			return p, refused(MsgCancelNotFound)
		}
		return p, err
	}
	ps, _, err := s.Store.Read().Payments(ctx, store.PaymentFilter{MerchantID: merchantID, MerchantUIDs: []string{in.MerchantUID}, Limit: 100})
	if err != nil {
		return store.Payment{}, err
	}
	for _, p := range ps {
		if p.Status != "failed" {
			return p, nil
		}
	}
	return store.Payment{}, refused(MsgCancelNotFound)
}
