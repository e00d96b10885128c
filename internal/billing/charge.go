package billing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"billkey/internal/pg"
	"billkey/internal/store"
)

// Usages of customer_uid_usage.
const (
	UsageIssue     = "issue"
	UsagePayment   = "payment"
	UsageScheduled = "payment.scheduled"
)

// Failpoints on the charge path, between the PG's answer and the commit of
// the outcome (Config.Failpoint, BILLKEY_FAILPOINT; test mode only).
const (
	// FailpointAfterPGCharge exits the process there (Config.Exit).
	FailpointAfterPGCharge = "after-pg-charge"
	// FailpointAfterPGChargeHang reports the charge there and then blocks
	// that request forever, so that a test can kill the process from
	// outside (SIGKILL) with the PG's answer in hand and nothing committed.
	// Other requests are still served. The report is one line on stderr:
	// FailpointMarker, the failpoint's name and imp_uid=<imp_uid>.
	FailpointAfterPGChargeHang = "after-pg-charge:hang"
	// FailpointMarker starts the line a hanging failpoint writes.
	FailpointMarker = "BILLKEY-FAILPOINT-REACHED"
)

// hangpoint blocks forever when the failpoint name is enabled in a real
// process (Config.Exit set, as by the binary); in-process servers ignore it
// like they ignore the exiting failpoints.
func (s *Service) hangpoint(name, impUID string) {
	if s.Failpoint != name || s.Exit == nil {
		return
	}
	s.Log.Warn("failpoint reached: blocking this request until the process is killed", "failpoint", name, "imp_uid", impUID)
	fmt.Fprintf(os.Stderr, "%s %s imp_uid=%s\n", FailpointMarker, name, impUID)
	select {}
}

// ChargeInput is a charge of a stored billing key (again, schedules).
type ChargeInput struct {
	CustomerUID   string
	MerchantUID   string
	Amount        int64
	TaxFree       int64
	VatAmount     *int64
	Currency      string
	Name          string
	CardQuota     int64
	BuyerName     string
	BuyerEmail    string
	BuyerTel      string
	BuyerAddr     string
	BuyerPostcode string
	CustomData    string
	NoticeURL     string
	Usage         string // UsagePayment (default) or UsageScheduled
}

func checkLen(field, v string, max int) error {
	if utf8.RuneCountInString(v) > max {
		return invalid("%s은(는) %d자 이내여야 합니다. (%s is longer than %d characters)", field, max, field, max)
	}
	return nil
}

func (in *ChargeInput) validate() error {
	if in.CustomerUID == "" {
		return invalid("customer_uid 파라메터가 누락되었습니다. (customer_uid is required)")
	}
	if in.MerchantUID == "" {
		return invalid("merchant_uid 파라메터가 누락되었습니다. (merchant_uid is required)")
	}
	if err := checkLen("merchant_uid", in.MerchantUID, 40); err != nil {
		return err
	}
	if err := checkLen("customer_uid", in.CustomerUID, 80); err != nil {
		return err
	}
	if err := checkLen("name", in.Name, 40); err != nil {
		return err
	}
	if in.Amount <= 0 {
		return invalid("amount는 0보다 커야 합니다. (amount must be a positive integer KRW amount)")
	}
	if in.TaxFree < 0 || in.TaxFree > in.Amount {
		return invalid("tax_free는 0 이상 amount 이하여야 합니다. (tax_free must be between 0 and amount)")
	}
	if in.Currency == "" {
		in.Currency = "KRW"
	}
	if in.Currency != "KRW" {
		return invalid("지원되지 않는 통화입니다: %s (only KRW)", in.Currency)
	}
	if in.Usage == "" {
		in.Usage = UsagePayment
	}
	return nil
}

// Charge charges a stored billing key, exactly once per merchant_uid:
//  1. the payment is committed as in flight (status ready); the unique index
//     on live merchant_uids refuses a second one before any PG call;
//  2. the PG is called with no transaction held;
//  3. the outcome is committed. If billkey dies between 2 and 3, or the PG's
//     answer never comes, the reconciler settles it from the PG's own record.
//
// A PG decline is a payment with status failed and a nil error.
func (s *Service) Charge(ctx context.Context, merchantID int64, in ChargeInput) (store.Payment, error) {
	if err := in.validate(); err != nil {
		return store.Payment{}, err
	}
	cust, err := s.customer(ctx, merchantID, in.CustomerUID)
	if store.IsNotFound(err) {
		return store.Payment{}, refused(MsgUnknownCustomer)
	}
	if err != nil {
		return store.Payment{}, err
	}
	ch, err := s.channelByID(ctx, merchantID, cust.ChannelID)
	if err != nil {
		return store.Payment{}, err
	}
	key, err := s.Vault.Open(ctx, merchantID, "billing-key", cust.BillingKeyEnc)
	if err != nil {
		return store.Payment{}, err
	}
	return s.chargeKey(ctx, merchantID, ch, string(key), cust, in)
}

// chargeKey runs steps 1-3 of Charge for a key in hand; cust supplies the
// card and customer details recorded on the payment.
func (s *Service) chargeKey(ctx context.Context, merchantID int64, ch ResolvedChannel, key string, cust store.Customer, in ChargeInput) (store.Payment, error) {
	now := s.now()
	p := store.Payment{
		MerchantID: merchantID, MerchantUID: in.MerchantUID, Status: "ready", PGState: store.PGStateInflight,
		InflightUntil: s.leaseUntil(), Amount: in.Amount, TaxFree: in.TaxFree, Currency: in.Currency,
		PayMethod: or(cust.PayMethod, "card"), Channel: "api", ChannelID: ch.Row.ID, PGProvider: ch.Row.Provider, PGID: ch.Row.MID,
		Sandbox: !ch.Row.Live, CustomerUID: in.CustomerUID, CustomerUIDUsage: in.Usage, Name: in.Name,
		BuyerName: or(in.BuyerName, cust.CustomerName), BuyerEmail: or(in.BuyerEmail, cust.CustomerEmail),
		BuyerTel: or(in.BuyerTel, cust.CustomerTel), BuyerAddr: or(in.BuyerAddr, cust.CustomerAddr),
		BuyerPostcode: or(in.BuyerPostcode, cust.CustomerPostcode), CustomData: in.CustomData, NoticeURL: in.NoticeURL,
		CardName: cust.CardName, CardCode: cust.CardCode, CardNumber: cust.CardNumber, CardType: cust.CardType,
		CardQuota: in.CardQuota, StartedAt: now, UpdatedAt: now,
	}
	p, err := s.insertPayment(ctx, p)
	if err != nil {
		return store.Payment{}, err
	}
	pctx, cancel := s.pgCtx(ctx)
	res, callErr := ch.Connector.Charge(pctx, ch.PG, pg.ChargeRequest{
		ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, CustomerUID: p.CustomerUID, BillingKey: key, Name: p.Name,
		Amount: p.Amount, TaxFree: p.TaxFree, VatAmount: in.VatAmount, CardQuota: int(p.CardQuota),
		BuyerName: p.BuyerName, BuyerEmail: p.BuyerEmail, BuyerTel: p.BuyerTel,
	})
	cancel()
	s.failpoint(FailpointAfterPGCharge)
	s.hangpoint(FailpointAfterPGChargeHang, p.ImpUID)
	if callErr != nil {
		if pg.IsUnknown(callErr) {
			// Leave it in flight: the reconciler asks the PG what happened.
			s.Log.Warn("charge outcome unknown; left for reconciliation", "imp_uid", p.ImpUID, "provider", p.PGProvider, "err", callErr)
			return store.Payment{}, &Error{Kind: KindPG, Message: pgErrorMessage(callErr) + " 결제 결과를 확인 중입니다. (imp_uid " + p.ImpUID + ")", Err: callErr}
		}
		res = pg.ChargeResult{Status: pg.StatusFailed, FailReason: pgErrorMessage(callErr)}
	}
	return s.settleCharge(ctx, p, res)
}

// settleCharge commits a charge outcome onto an in-flight payment, unless
// someone (the reconciler) settled it first, in which case that record wins.
func (s *Service) settleCharge(ctx context.Context, p store.Payment, res pg.ChargeResult) (store.Payment, error) {
	ctx = context.WithoutCancel(ctx) // the outcome is recorded even if the client hung up
	upd := p
	applyCharge(&upd, res, s.now())
	var out store.Payment
	err := s.writePayment(ctx, p, func(q store.Q) error {
		var err error
		out, err = q.UpdatePayment(ctx, upd, store.PGStateInflight, p.CancelAmount)
		if err != nil {
			return err
		}
		return s.notify(ctx, q, out, chargeEvent(out))
	})
	if store.IsNotFound(err) {
		return s.Store.Read().Payment(ctx, p.MerchantID, p.ImpUID)
	}
	if err != nil {
		return store.Payment{}, err
	}
	out.Cancels = []store.Cancel{}
	s.remember(out)
	return out, nil
}

func chargeEvent(p store.Payment) string {
	switch {
	case p.CustomerUIDUsage == UsageScheduled && p.Status == "paid":
		return EventScheduledPaid
	case p.CustomerUIDUsage == UsageScheduled:
		return EventScheduledFailed
	case p.Status == "paid":
		return EventPaid
	}
	return "" // i'mport sends no webhook for an ordinary failure
}

// insertPayment commits a new payment with a fresh imp_uid. A live payment
// with the same merchant_uid makes the unique index refuse it.
func (s *Service) insertPayment(ctx context.Context, p store.Payment) (store.Payment, error) {
	for attempt := 0; attempt < 5; attempt++ {
		p.ImpUID = NewImpUID()
		var out store.Payment
		err := s.Store.Write(ctx, func(q store.Q) error {
			var err error
			out, err = q.InsertPayment(ctx, p)
			return err
		})
		if err == nil {
			out.Cancels = []store.Cancel{}
			return out, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return store.Payment{}, err
		}
		// Either the merchant_uid is live already, or (rarely) the imp_uid collided.
		live, _, lerr := s.Store.Read().Payments(ctx, store.PaymentFilter{MerchantID: p.MerchantID, MerchantUIDs: []string{p.MerchantUID}, Limit: 100})
		if lerr != nil {
			return store.Payment{}, lerr
		}
		for _, x := range live {
			if x.Status != "failed" {
				return store.Payment{}, refused(MsgDuplicateMerchant)
			}
		}
	}
	return store.Payment{}, errors.New("billing: could not allocate an imp_uid")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
