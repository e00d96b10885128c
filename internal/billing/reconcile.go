package billing

import (
	"context"
	"errors"
	"time"

	"billkey/internal/pg"
	"billkey/internal/store"
)

// ReconcileDue settles payments left in flight past their lease (billkey
// crashed between the PG call and the commit, or the PG never answered) by
// asking the PG what it did. A charge the PG has is recorded as paid (or
// failed, as the PG says); one it never saw is failed, which frees the
// merchant_uid. It returns how many payments it settled.
func (s *Service) ReconcileDue(ctx context.Context) (int, error) {
	due, err := s.Store.Read().InflightDue(ctx, s.now(), 100)
	if err != nil {
		return 0, err
	}
	n, err := s.expireWindows(ctx)
	if err != nil {
		return n, err
	}
	for _, p := range due {
		settled, err := s.reconcileOne(ctx, p)
		if err != nil {
			s.Log.Warn("reconcile failed; will retry", "imp_uid", p.ImpUID, "err", err)
			continue
		}
		if settled {
			n++
		}
	}
	return n, nil
}

func (s *Service) reconcileOne(ctx context.Context, p store.Payment) (bool, error) {
	ch, err := s.channelByID(ctx, p.MerchantID, p.ChannelID)
	if err != nil {
		return false, err
	}
	var key string
	if cust, err := s.Store.Read().Customer(ctx, p.MerchantID, p.CustomerUID); err == nil && cust.ChannelID == p.ChannelID {
		if k, err := s.Vault.Open(ctx, p.MerchantID, "billing-key", cust.BillingKeyEnc); err == nil {
			key = string(k)
		}
	}
	pctx, cancel := s.pgCtx(ctx)
	res, err := ch.Connector.Lookup(pctx, ch.PG, pg.LookupRequest{ImpUID: p.ImpUID, PGTID: p.PGTID, MerchantUID: p.MerchantUID,
		CustomerUID: p.CustomerUID, BillingKey: key, Amount: p.Amount})
	cancel()
	switch {
	case errors.Is(err, pg.ErrLookupUnsupported):
		// Nobody can tell: keep the merchant_uid blocked and flag it for an operator.
		upd := p
		upd.PGState = store.PGStateUnknown
		upd.FailReason = "PG 결과를 확인할 수 없습니다. 운영자 확인이 필요합니다. (outcome unknown: the PG offers no lookup for this charge)"
		upd.UpdatedAt = s.now()
		err := s.writePayment(ctx, p, func(q store.Q) error {
			_, err := q.UpdatePayment(ctx, upd, store.PGStateInflight, p.CancelAmount)
			return err
		})
		s.Log.Error("payment outcome unknown; needs an operator", "imp_uid", p.ImpUID, "provider", p.PGProvider)
		return false, ignoreNotFound(err)
	case err != nil:
		// Ask again later.
		upd := p
		upd.InflightUntil = s.Clock.Now().Add(s.ReconcileGrace + time.Second).Unix()
		werr := s.writePayment(ctx, p, func(q store.Q) error {
			_, err := q.UpdatePayment(ctx, upd, store.PGStateInflight, p.CancelAmount)
			return err
		})
		if werr != nil && !store.IsNotFound(werr) {
			return false, werr
		}
		return false, err
	}
	charge := res.Charge
	if !res.Found {
		charge = pg.ChargeResult{Status: pg.StatusFailed, FailReason: "PG사에 승인 기록이 없어 실패 처리되었습니다. (reconciled: the PG has no record of this charge)"}
	}
	if _, err := s.settleCharge(ctx, p, charge); err != nil {
		return false, err
	}
	s.Log.Info("reconciled in-flight payment", "imp_uid", p.ImpUID, "found_at_pg", res.Found, "status", charge.Status)
	return true, nil
}

// WindowTTL is how long a payment window may stay open before billkey fails
// it (the buyer walked away without closing it).
const WindowTTL = 30 * time.Minute

// MsgWindowExpired is the fail_reason of a window nobody finished.
const MsgWindowExpired = "결제창 유효시간이 지나 실패 처리되었습니다. (the payment window expired)"

// expireWindows fails window issuances left open past WindowTTL, so no
// payment is left dangling and the merchant_uid may be used again.
func (s *Service) expireWindows(ctx context.Context) (int, error) {
	stale, err := s.Store.Read().StaleWindows(ctx, s.Clock.Now().Add(-WindowTTL).Unix(), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range stale {
		if _, err := s.finishWindow(ctx, p, func(u *store.Payment) {
			u.Status, u.FailedAt, u.FailReason, u.WindowState = "failed", s.now(), MsgWindowExpired, ""
		}, store.PGStateNone); err == nil {
			n++
		}
	}
	return n, nil
}

func ignoreNotFound(err error) error {
	if store.IsNotFound(err) {
		return nil
	}
	return err
}

// RunReconciler reconciles at once and then every interval until ctx ends.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.ReconcileDue(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("reconciler scan failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
