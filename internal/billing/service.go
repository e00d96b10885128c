package billing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"billkey/internal/accounts"
	"billkey/internal/clock"
	"billkey/internal/pg"
	"billkey/internal/store"
	"billkey/internal/vault"
)

// Events receives payment changes that may need a webhook. It is called
// inside the transaction that commits the change (an outbox), so a
// notification exists if and only if the change committed.
type Events interface {
	PaymentChanged(ctx context.Context, q store.Q, p store.Payment, reason string) error
}

// Webhook reasons passed to Events.
const (
	EventPaid            = "paid"             // a charge or issuance with charge succeeded
	EventIssued          = "issued"           // a window issuance without charge succeeded
	EventFailed          = "failed"           // a charge failed
	EventScheduledPaid   = "scheduled.paid"   // a scheduled charge succeeded
	EventScheduledFailed = "scheduled.failed" // a scheduled charge failed
	EventCancelled       = "cancelled"        // a cancel with enable_webhook
)

// Config is the billing service's configuration.
type Config struct {
	Store    *store.Store
	Vault    *vault.Vault
	Accounts *accounts.Service
	PGs      *pg.Registry
	Clock    clock.Clock
	Log      *slog.Logger
	Events   Events // may be nil
	// PGTimeout bounds every PG call; an in-flight payment is reconciled once
	// PGTimeout+ReconcileGrace has passed without an outcome.
	PGTimeout      time.Duration
	ReconcileGrace time.Duration
	// EmulatorURL gives the base URL of the built-in emulator of a provider,
	// used by test-mode channels that have no base URL of their own.
	EmulatorURL func(provider string) string
	// Failpoint, in test mode only, names a point where the process exits on
	// purpose ("after-pg-charge"), for crash tests.
	Failpoint string
	Exit      func(code int)
	// OnCustomerDeleted runs inside the transaction that deletes a billing
	// key (the scheduler revokes the customer's pending schedules there).
	OnCustomerDeleted func(ctx context.Context, q store.Q, merchantID int64, customerUID string) error
}

// Service is the billing domain service.
type Service struct {
	Config
	channels sync.Map // channelKey → cachedChannel

	// On SQLite (one node: every customer write goes through this process)
	// customer rows are cached for the charge path and dropped on every
	// write; custGen makes a read that raced a write not cache stale data.
	customers sync.Map // customerKey → cachedCustomer
	custGen   atomic.Int64

	payments sync.Map // paymentKey → cachedPayment (SQLite only; see Payment)
	payGen   atomic.Int64
	payCount atomic.Int64
}

type paymentKey struct {
	merchantID int64
	impUID     string
}

type cachedPayment struct {
	p     store.Payment
	until time.Time
}

const (
	paymentCacheTTL = 30 * time.Second
	paymentCacheMax = 100_000
)

// Payment reads one payment of a merchant (GET /payments/{imp_uid}). On
// SQLite settled payments are cached: every payment write in this package
// goes through writePayment, which drops the entry before and after it.
func (s *Service) Payment(ctx context.Context, merchantID int64, impUID string) (store.Payment, error) {
	if s.Store.Engine() != store.SQLite {
		return s.Store.Read().Payment(ctx, merchantID, impUID)
	}
	key := paymentKey{merchantID, impUID}
	if v, ok := s.payments.Load(key); ok {
		if c := v.(cachedPayment); time.Now().Before(c.until) {
			return c.p, nil
		}
	}
	gen := s.payGen.Load()
	p, err := s.Store.Read().Payment(ctx, merchantID, impUID)
	if err == nil && s.payGen.Load() == gen { // no payment write began meanwhile
		s.remember(p)
	}
	return p, err
}

// remember caches settled payment p (SQLite only). Besides the read path,
// the charge path remembers the row it has just committed: merchants read a
// payment right after the again answer or its webhook (i'mport tells them to
// look the payment up on every webhook).
func (s *Service) remember(p store.Payment) {
	if s.Store.Engine() != store.SQLite || p.PGState != store.PGStateNone || p.Status == "ready" {
		return
	}
	if s.payCount.Add(1) > paymentCacheMax {
		s.payments.Clear()
		s.payCount.Store(0)
	}
	s.payments.Store(paymentKey{p.MerchantID, p.ImpUID}, cachedPayment{p: p, until: time.Now().Add(paymentCacheTTL)})
}

// writePayment runs a write that changes payment p, keeping the cache honest.
func (s *Service) writePayment(ctx context.Context, p store.Payment, fn func(store.Q) error) error {
	key := paymentKey{p.MerchantID, p.ImpUID}
	s.payGen.Add(1)
	s.payments.Delete(key)
	err := s.Store.Write(ctx, fn)
	s.payGen.Add(1)
	s.payments.Delete(key)
	return err
}

type customerKey struct {
	merchantID int64
	uid        string
}

type cachedCustomer struct {
	c     store.Customer
	until time.Time
}

const customerCacheTTL = 30 * time.Second

// customer reads a billing key row, from the cache when it may.
func (s *Service) customer(ctx context.Context, merchantID int64, uid string) (store.Customer, error) {
	if s.Store.Engine() != store.SQLite {
		return s.Store.Read().Customer(ctx, merchantID, uid)
	}
	key := customerKey{merchantID, uid}
	if v, ok := s.customers.Load(key); ok {
		if c := v.(cachedCustomer); time.Now().Before(c.until) {
			return c.c, nil
		}
	}
	gen := s.custGen.Load()
	c, err := s.Store.Read().Customer(ctx, merchantID, uid)
	if err == nil && s.custGen.Load() == gen {
		s.customers.Store(key, cachedCustomer{c: c, until: time.Now().Add(customerCacheTTL)})
	}
	return c, err
}

// forgetCustomer drops a cached customer after a write to it.
func (s *Service) forgetCustomer(merchantID int64, uid string) {
	s.custGen.Add(1)
	s.customers.Delete(customerKey{merchantID, uid})
}

type channelKey struct{ merchantID, channelID int64 }

type cachedChannel struct {
	ch    ResolvedChannel
	until time.Time
}

// channelCacheTTL bounds how long a channel's row and opened credentials are
// reused on the charge path (channels change only by admin commands).
const channelCacheTTL = 10 * time.Second

func New(c Config) *Service {
	if c.PGTimeout == 0 {
		c.PGTimeout = 30 * time.Second
	}
	if c.ReconcileGrace == 0 {
		c.ReconcileGrace = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return &Service{Config: c}
}

func (s *Service) now() int64 { return s.Clock.Now().Unix() }

// NewImpUID returns imp_ + 12 digits.
func NewImpUID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	return fmt.Sprintf("imp_%012d", n.Int64())
}

// ResolvedChannel is a merchant channel with what a connector needs.
type ResolvedChannel struct {
	Row       store.Channel
	PG        pg.Channel
	Connector pg.Connector
}

// ResolveChannel picks the merchant's channel for an i'mport `pg` value:
// "" → the default channel; "provider" → that provider's (default first);
// "provider.MID" → that exact channel.
func (s *Service) ResolveChannel(ctx context.Context, merchantID int64, pgParam string) (ResolvedChannel, error) {
	chans, err := s.Store.Read().ChannelsOf(ctx, merchantID)
	if err != nil {
		return ResolvedChannel{}, err
	}
	provider, mid, _ := strings.Cut(pgParam, ".")
	var pick *store.Channel
	for i := range chans {
		c := &chans[i]
		switch {
		case pgParam == "":
			if c.IsDefault || pick == nil {
				pick = c
			}
		case c.Provider == provider && (mid == "" || c.MID == mid):
			if pick == nil || (mid == "" && c.IsDefault) {
				pick = c
			}
		}
	}
	if pick == nil {
		if pgParam == "" {
			return ResolvedChannel{}, refused("설정된 PG 채널이 없습니다. (the merchant has no PG channel)")
		}
		return ResolvedChannel{}, refused("PG 채널 '%s'을(를) 찾을 수 없습니다. (no channel for pg '%s')", pgParam, pgParam)
	}
	return s.channelFor(ctx, *pick)
}

func (s *Service) channelFor(ctx context.Context, c store.Channel) (ResolvedChannel, error) {
	conn, ok := s.PGs.Get(c.Provider)
	if !ok {
		return ResolvedChannel{}, refused("지원하지 않는 PG사입니다: %s", c.Provider)
	}
	creds, err := s.Accounts.ChannelCredentials(ctx, c)
	if err != nil {
		return ResolvedChannel{}, err
	}
	base := c.BaseURL
	if base == "" && !c.Live && s.EmulatorURL != nil {
		base = s.EmulatorURL(c.Provider)
	}
	return ResolvedChannel{Row: c, Connector: conn, PG: pg.Channel{Provider: c.Provider, MID: c.MID, Live: c.Live, BaseURL: base, Credentials: creds}}, nil
}

func (s *Service) channelByID(ctx context.Context, merchantID, id int64) (ResolvedChannel, error) {
	key := channelKey{merchantID, id}
	if v, ok := s.channels.Load(key); ok {
		if c := v.(cachedChannel); time.Now().Before(c.until) {
			return c.ch, nil
		}
	}
	c, err := s.Store.Read().ChannelByID(ctx, merchantID, id)
	if err != nil {
		return ResolvedChannel{}, err
	}
	rc, err := s.channelFor(ctx, c)
	if err != nil {
		return rc, err
	}
	s.channels.Store(key, cachedChannel{ch: rc, until: time.Now().Add(channelCacheTTL)})
	return rc, nil
}

// pgCtx bounds a PG call.
func (s *Service) pgCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	// The PG call outlives a client that hangs up: its outcome must be recorded.
	return context.WithTimeout(context.WithoutCancel(ctx), s.PGTimeout)
}

func (s *Service) leaseUntil() int64 {
	return s.Clock.Now().Add(s.PGTimeout + s.ReconcileGrace).Unix()
}

func (s *Service) failpoint(name string) {
	if s.Failpoint == name && s.Exit != nil {
		s.Log.Warn("failpoint reached: exiting on purpose", "failpoint", name)
		s.Exit(3)
	}
}

func (s *Service) notify(ctx context.Context, q store.Q, p store.Payment, reason string) error {
	if s.Events == nil || reason == "" {
		return nil
	}
	return s.Events.PaymentChanged(ctx, q, p, reason)
}

func cardType(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

// applyCharge copies a PG charge result onto a payment.
func applyCharge(p *store.Payment, r pg.ChargeResult, now int64) {
	p.PGState = store.PGStateNone
	p.InflightUntil = 0
	p.UpdatedAt = now
	if r.PGTID != "" {
		p.PGTID = r.PGTID
	}
	if r.PayMethod != "" {
		p.PayMethod = r.PayMethod
	}
	if r.Card.Name != "" {
		p.CardName, p.CardCode, p.CardNumber, p.CardType = r.Card.Name, r.Card.Code, r.Card.Number, cardType(r.Card.Type)
	}
	p.ApplyNum, p.ReceiptURL = r.ApplyNum, r.ReceiptURL
	if r.Status == pg.StatusPaid {
		p.Status = "paid"
		p.PaidAt = now
		if !r.PaidAt.IsZero() {
			p.PaidAt = r.PaidAt.Unix()
		}
		return
	}
	p.Status = "failed"
	p.FailedAt = now
	p.FailReason = r.FailReason
	if r.FailCode != "" && !strings.Contains(r.FailReason, r.FailCode) {
		p.FailReason = fmt.Sprintf("[%s] %s", r.FailCode, r.FailReason)
	}
	if p.FailReason == "" {
		p.FailReason = "PG사에서 결제를 거절했습니다. (declined by the PG)"
	}
}

// requestURL matches the `Post "https://…": ` prefix net/http puts on a
// transport error: the PG's address is for the logs, not the merchant.
var requestURL = regexp.MustCompile(`[A-Z][a-zA-Z]* "[a-z][a-z0-9+.-]*://[^"]*": `)

// pgErrorMessage makes a merchant-facing message from a PG error.
func pgErrorMessage(err error) string {
	var pe *pg.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("PG사 통신에 실패했습니다: [%s] %s", pe.Code, requestURL.ReplaceAllString(pe.Message, ""))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "PG사 응답 시간이 초과되었습니다. (PG timeout)"
	}
	return "PG사 통신에 실패했습니다. (PG communication error)"
}
