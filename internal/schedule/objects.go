package schedule

import (
	"billkey/internal/iamport"
	"billkey/internal/store"
)

// scheduleObj is i'mport's ScheduleResultAnnotation: every key present.
type scheduleObj struct {
	CustomerUID    string  `json:"customer_uid"`
	MerchantUID    string  `json:"merchant_uid"`
	ImpUID         *string `json:"imp_uid"`
	PGProvider     *string `json:"pg_provider"`
	PGID           *string `json:"pg_id"`
	CustomerID     *string `json:"customer_id"`
	ScheduleAt     int64   `json:"schedule_at"`
	ExecutedAt     int64   `json:"executed_at"`
	RevokedAt      int64   `json:"revoked_at"`
	Amount         int64   `json:"amount"`
	Currency       string  `json:"currency"`
	Name           *string `json:"name"`
	BuyerName      *string `json:"buyer_name"`
	BuyerEmail     *string `json:"buyer_email"`
	BuyerTel       *string `json:"buyer_tel"`
	BuyerAddr      *string `json:"buyer_addr"`
	BuyerPostcode  *string `json:"buyer_postcode"`
	CustomData     *string `json:"custom_data"`
	ScheduleStatus string  `json:"schedule_status"`
	PaymentStatus  *string `json:"payment_status"`
	FailReason     *string `json:"fail_reason"`
	PromotionID    *string `json:"promotion_id"`
}

func sp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func scheduleJSON(s store.Schedule) scheduleObj {
	st := s.Status
	if st == store.ScheduleExecuting {
		st = store.ScheduleScheduled // i'mport has no such state: it is not executed yet
	}
	o := scheduleObj{CustomerUID: s.CustomerUID, MerchantUID: s.MerchantUID, CustomerID: sp(s.CustomerID),
		ScheduleAt: s.ScheduleAt, ExecutedAt: s.ExecutedAt, RevokedAt: s.RevokedAt, Amount: s.Amount, Currency: s.Currency,
		Name: sp(s.Name), BuyerName: sp(s.BuyerName), BuyerEmail: sp(s.BuyerEmail), BuyerTel: sp(s.BuyerTel),
		BuyerAddr: sp(s.BuyerAddr), BuyerPostcode: sp(s.BuyerPostcode), CustomData: sp(s.CustomData), ScheduleStatus: st}
	if st == store.ScheduleExecuted {
		o.ImpUID, o.PaymentStatus, o.FailReason = sp(s.ImpUID), sp(s.PaymentStatus), sp(s.FailReason)
	}
	return o
}

func scheduleList(ss []store.Schedule) []scheduleObj {
	out := make([]scheduleObj, 0, len(ss))
	for _, s := range ss {
		out = append(out, scheduleJSON(s))
	}
	return out
}

func newPaged(list []scheduleObj, total int64, page, limit int) iamport.Paged[scheduleObj] {
	return iamport.NewPaged(list, total, page, limit)
}
