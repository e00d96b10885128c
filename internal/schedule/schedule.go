// Package schedule runs i'mport scheduled payments (POST
// /subscribe/payments/schedule and friends): billkey's schedules table is
// the source of truth, workers (River jobs, see internal/jobs) execute due
// schedules, each exactly once:
//
//  1. claim: a conditional UPDATE moves the schedule from scheduled (due by
//     billkey's clock) to executing with a real-time lease, recording how many
//     payments its merchant_uid had; of two workers only one wins;
//  2. charge: billing.Charge with the schedule's merchant_uid and usage
//     payment.scheduled (its unique index refuses a second live payment), no
//     transaction held across the PG call;
//  3. finish: billing calls Events.PaymentChanged inside the transaction that
//     settles the payment, and OnPayment marks the schedule executed there,
//     so the payment, the schedule and the webhook commit together.
//
// A worker that dies between 1 and 3 leaves the schedule executing; once its
// lease has passed a sweep hands it to another worker, which first looks for
// a payment made since the claim (in flight: left to the reconciler, whose
// settlement marks the schedule; settled: marks it from that) and charges
// only when there is none.
package schedule

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"billkey/internal/billing"
	"billkey/internal/clock"
	"billkey/internal/store"
)

// Messages (observed i'mport wording where known).
const (
	MsgNoCustomer      = "등록된 고객정보가 없습니다."
	MsgNothingToRevoke = "취소할 예약결제 기록이 존재하지 않습니다."
	MsgNotFound        = "존재하지 않는 예약결제입니다. (no such schedule)"
)

// Service is the scheduler.
type Service struct {
	Store   *store.Store
	Billing *billing.Service
	Clock   clock.Clock
	Log     *slog.Logger
	// Lease is how long (real time) a claim is held before another worker may
	// take the schedule over; it must exceed a charge's PG timeout.
	Lease time.Duration
}

// New fills defaults.
func New(s Service) *Service {
	if s.Lease <= 0 {
		s.Lease = 2*s.Billing.PGTimeout + time.Minute
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	return &s
}

func (s *Service) now() int64 { return s.Clock.Now().Unix() }

func refused(msg string) error { return &billing.Error{Kind: billing.KindRefused, Message: msg} }
func invalid(msg string) error { return &billing.Error{Kind: billing.KindInvalid, Message: msg} }
func notFound(msg string) error {
	return &billing.Error{Kind: billing.KindNotFound, Message: msg}
}

// OnCustomerDeleted revokes the customer's pending schedules, inside the
// transaction that deletes the billing key.
func (s *Service) OnCustomerDeleted(ctx context.Context, q store.Q, merchantID int64, customerUID string) error {
	_, err := q.RevokeSchedules(ctx, merchantID, customerUID, nil, s.now())
	return err
}

// OnPayment is called (through billing.Events) inside the transaction that
// settles a payment: a scheduled charge's outcome marks its schedule.
func (s *Service) OnPayment(ctx context.Context, q store.Q, p store.Payment, reason string) error {
	if reason != billing.EventScheduledPaid && reason != billing.EventScheduledFailed {
		return nil
	}
	return s.finish(ctx, q, p)
}

// finish marks the executing schedule of p's merchant_uid from p, applying
// the merchant's retry policy to a failure.
func (s *Service) finish(ctx context.Context, q store.Q, p store.Payment) error {
	o := store.ScheduleOutcome{ImpUID: p.ImpUID, PaymentStatus: p.Status, FailReason: p.FailReason, ExecutedAt: s.now()}
	if p.Status == "paid" {
		o.FailReason = ""
	} else {
		o.PaymentStatus = "failed"
		at, err := s.retryAt(ctx, q, p.MerchantID, p.MerchantUID)
		if err != nil {
			return err
		}
		o.RetryAt = at
	}
	_, err := q.FinishSchedule(ctx, p.MerchantID, p.MerchantUID, o)
	return err
}

func (s *Service) retryAt(ctx context.Context, q store.Q, merchantID int64, merchantUID string) (int64, error) {
	delays, err := q.ScheduleRetryDelays(ctx, merchantID)
	if err != nil || delays == "" {
		return 0, err
	}
	ds, err := ParseDelays(delays)
	if err != nil {
		return 0, nil
	}
	sc, err := q.Schedule(ctx, merchantID, merchantUID)
	if err != nil {
		return 0, err
	}
	if sc.Status != store.ScheduleExecuting || sc.Retries >= int64(len(ds)) {
		return 0, nil
	}
	return s.Clock.Now().Add(ds[sc.Retries]).Unix(), nil
}

// ParseDelays parses a retry policy: comma-separated durations, each a Go
// duration or a number of days ("1d"). At most 10, each 1 minute..90 days.
func ParseDelays(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		var d time.Duration
		if n, ok := strings.CutSuffix(part, "d"); ok {
			days, err := strconv.Atoi(n)
			if err != nil {
				return nil, errors.New("bad delay " + strconv.Quote(part))
			}
			d = time.Duration(days) * 24 * time.Hour
		} else {
			var err error
			if d, err = time.ParseDuration(part); err != nil {
				return nil, errors.New("bad delay " + strconv.Quote(part))
			}
		}
		if d < time.Minute || d > 90*24*time.Hour {
			return nil, errors.New("delay " + strconv.Quote(part) + " out of range (1m..90d)")
		}
		out = append(out, d)
	}
	if len(out) == 0 || len(out) > 10 {
		return nil, errors.New("between 1 and 10 delays")
	}
	return out, nil
}

func (s *Service) leaseUntil() int64 { return time.Now().Add(s.Lease).Unix() }

// Execute runs schedule id if it is ready (the worker entry point). A
// schedule not ready or claimed by another worker is a no-op.
func (s *Service) Execute(ctx context.Context, id int64) error {
	var sc store.Schedule
	err := s.Store.Write(ctx, func(q store.Q) error {
		var err error
		sc, err = q.ClaimSchedule(ctx, id, s.now(), time.Now().Unix(), s.leaseUntil(), false)
		return err
	})
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.run(ctx, sc)
	if billing.KindOf(err) != 0 {
		return nil // a domain outcome, recorded on the schedule; nothing to retry
	}
	return err
}

func chargeInput(sc store.Schedule) billing.ChargeInput {
	return billing.ChargeInput{CustomerUID: sc.CustomerUID, MerchantUID: sc.MerchantUID, Amount: sc.Amount, TaxFree: sc.TaxFree,
		VatAmount: sc.VatAmount, Currency: sc.Currency, Name: sc.Name, CardQuota: sc.CardQuota, BuyerName: sc.BuyerName,
		BuyerEmail: sc.BuyerEmail, BuyerTel: sc.BuyerTel, BuyerAddr: sc.BuyerAddr, BuyerPostcode: sc.BuyerPostcode,
		CustomData: sc.CustomData, NoticeURL: sc.NoticeURL, Usage: billing.UsageScheduled}
}

// run charges a claimed schedule, or settles it from the charge an earlier
// claim already made. It returns the payment when there is one.
func (s *Service) run(ctx context.Context, sc store.Schedule) (store.Payment, error) {
	if p, made, err := s.madeSinceClaim(ctx, sc); err != nil || made {
		if err == nil {
			err = s.settleFrom(ctx, sc, p)
		}
		return p, err
	}
	p, err := s.Billing.Charge(ctx, sc.MerchantID, chargeInput(sc))
	if err == nil {
		if p.PGState != store.PGStateNone {
			return p, s.settleFrom(ctx, sc, p)
		}
		return p, nil // billing's settle transaction marked the schedule (OnPayment)
	}
	var be *billing.Error
	errors.As(err, &be)
	// A payment may exist: the merchant_uid is live (refused duplicate), or
	// the charge is in flight with an unknown outcome.
	if p, made, lerr := s.madeSinceClaim(ctx, sc); lerr == nil && made {
		return p, errors.Join(err, s.settleFrom(ctx, sc, p))
	} else if lerr == nil && be != nil && be.Kind == billing.KindRefused && be.Message == billing.MsgDuplicateMerchant {
		if live, ok := s.livePayment(ctx, sc); ok {
			return live, errors.Join(err, s.settleFrom(ctx, sc, live))
		}
	}
	if k := billing.KindOf(err); k == billing.KindRefused || k == billing.KindInvalid || k == billing.KindNotFound {
		// Nothing can be charged (the key was deleted after the claim, the
		// channel is gone, …): the execution failed without a payment.
		werr := s.Store.Write(context.WithoutCancel(ctx), func(q store.Q) error {
			_, err := q.FinishSchedule(ctx, sc.MerchantID, sc.MerchantUID, store.ScheduleOutcome{PaymentStatus: "failed",
				FailReason: be.Message, ExecutedAt: s.now()})
			return err
		})
		return store.Payment{}, errors.Join(err, werr)
	}
	// Nothing was charged (an internal error): give the schedule back; a
	// later sweep runs it again.
	werr := s.Store.Write(context.WithoutCancel(ctx), func(q store.Q) error { return q.ReleaseSchedule(ctx, sc.ID, s.now()) })
	return store.Payment{}, errors.Join(err, werr)
}

// madeSinceClaim returns the newest payment of the merchant_uid when there
// are more than at the claim.
func (s *Service) madeSinceClaim(ctx context.Context, sc store.Schedule) (store.Payment, bool, error) {
	ps, err := s.Store.Read().PaymentsByMerchantUID(ctx, sc.MerchantID, sc.MerchantUID)
	if err != nil || int64(len(ps)) <= sc.PriorPayments {
		return store.Payment{}, false, err
	}
	return ps[0], true, nil
}

func (s *Service) livePayment(ctx context.Context, sc store.Schedule) (store.Payment, bool) {
	ps, err := s.Store.Read().PaymentsByMerchantUID(ctx, sc.MerchantID, sc.MerchantUID)
	if err != nil {
		return store.Payment{}, false
	}
	for _, p := range ps {
		if p.Status != "failed" {
			return p, true
		}
	}
	return store.Payment{}, false
}

// settleFrom marks the schedule from p, or, while p is still in flight at
// the PG, keeps the claim (the reconciler's settlement will mark it).
func (s *Service) settleFrom(ctx context.Context, sc store.Schedule, p store.Payment) error {
	ctx = context.WithoutCancel(ctx)
	if p.PGState != store.PGStateNone || p.Status == "ready" {
		return s.Store.Write(ctx, func(q store.Q) error { return q.ExtendScheduleLease(ctx, sc.ID, s.leaseUntil()) })
	}
	return s.Store.Write(ctx, func(q store.Q) error { return s.finish(ctx, q, p) })
}
