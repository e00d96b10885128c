package billing

import (
	"context"
	"encoding/json"
	"net/url"

	"billkey/internal/pg"
	"billkey/internal/store"
)

// WindowInput is an IMP.request_pay call with customer_uid: a billing-key
// issuance through the PG's window.
type WindowInput struct {
	PG            string
	PayMethod     string
	MerchantUID   string
	Name          string
	Amount        int64
	TaxFree       int64
	CustomerUID   string
	CustomerID    string
	BuyerName     string
	BuyerEmail    string
	BuyerTel      string
	BuyerAddr     string
	BuyerPostcode string
	CustomData    string
	NoticeURL     string
	Mobile        bool
	UserAgent     string
}

// WindowURLs are where the PG sends the buyer back, per payment.
type WindowURLs func(merchantCode, impUID string) (ret, cancel, fail string)

// windowState is what billkey keeps about an open window (not secret).
type windowState struct {
	PG     map[string]string `json:"pg,omitempty"`
	Mobile bool              `json:"mobile,omitempty"`
}

// PayMethods each provider's billing window accepts ("" = any, it is ignored).
var windowPayMethods = map[string][]string{
	"kakaopay": nil, // the buyer chooses card or Kakao Money in the window
	"payco":    {"card"},
	"testpg":   {"card"},
}

// StartWindow validates the request, records a ready payment with an
// imp_uid, and asks the PG to open its window.
func (s *Service) StartWindow(ctx context.Context, m store.Merchant, in WindowInput, urls WindowURLs) (store.Payment, pg.IssueStart, error) {
	if in.CustomerUID == "" {
		return store.Payment{}, pg.IssueStart{}, invalid("customer_uid는 빌링키 발급에 필수입니다. (customer_uid is required to issue a billing key)")
	}
	if in.MerchantUID == "" {
		return store.Payment{}, pg.IssueStart{}, invalid("merchant_uid 파라메터가 누락되었습니다. (merchant_uid is required)")
	}
	for _, c := range []struct {
		f, v string
		n    int
	}{{"merchant_uid", in.MerchantUID, 40}, {"customer_uid", in.CustomerUID, 80}, {"name", in.Name, 40}} {
		if err := checkLen(c.f, c.v, c.n); err != nil {
			return store.Payment{}, pg.IssueStart{}, err
		}
	}
	if in.Amount < 0 || in.TaxFree < 0 || in.TaxFree > in.Amount {
		return store.Payment{}, pg.IssueStart{}, invalid("amount는 0 이상의 정수여야 합니다. (amount must be a non-negative integer)")
	}
	ch, err := s.ResolveChannel(ctx, m.ID, in.PG)
	if err != nil {
		return store.Payment{}, pg.IssueStart{}, err
	}
	payMethod := in.PayMethod
	if payMethod == "" {
		payMethod = "card"
	}
	if allowed, ok := windowPayMethods[ch.Row.Provider]; ok && allowed != nil {
		okm := false
		for _, a := range allowed {
			okm = okm || a == payMethod
		}
		if !okm {
			return store.Payment{}, pg.IssueStart{}, refused("%s 정기결제는 pay_method '%s'을(를) 지원하지 않습니다. (supported: %v)", ch.Row.Provider, payMethod, allowed)
		}
	}
	if ch.Row.Provider == "kakaopay" {
		payMethod = "card" // until the buyer chooses in the window
	}
	now := s.now()
	channel := "pc"
	if in.Mobile {
		channel = "mobile"
	}
	p, err := s.insertPayment(ctx, store.Payment{MerchantID: m.ID, MerchantUID: in.MerchantUID, Status: "ready",
		Amount: in.Amount, TaxFree: in.TaxFree, Currency: "KRW", PayMethod: payMethod, Channel: channel, ChannelID: ch.Row.ID,
		PGProvider: ch.Row.Provider, PGID: ch.Row.MID, Sandbox: !ch.Row.Live, CustomerUID: in.CustomerUID,
		CustomerUIDUsage: UsageIssue, Name: in.Name, BuyerName: in.BuyerName, BuyerEmail: in.BuyerEmail, BuyerTel: in.BuyerTel,
		BuyerAddr: in.BuyerAddr, BuyerPostcode: in.BuyerPostcode, CustomData: in.CustomData, NoticeURL: in.NoticeURL,
		UserAgent: in.UserAgent, StartedAt: now, UpdatedAt: now})
	if err != nil {
		return store.Payment{}, pg.IssueStart{}, err
	}
	ret, cancelURL, failURL := urls(m.Code, p.ImpUID)
	pctx, cancel := s.pgCtx(ctx)
	start, err := ch.Connector.StartIssue(pctx, ch.PG, pg.IssueRequest{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID,
		CustomerUID: in.CustomerUID, Name: in.Name, Amount: in.Amount, TaxFree: in.TaxFree, BuyerName: in.BuyerName,
		BuyerEmail: in.BuyerEmail, BuyerTel: in.BuyerTel, ReturnURL: ret, CancelURL: cancelURL, FailURL: failURL, Mobile: in.Mobile})
	cancel()
	upd := p
	upd.UpdatedAt = s.now()
	if err != nil {
		// Nothing was charged at ready: the attempt simply failed.
		upd.Status, upd.FailedAt = "failed", s.now()
		upd.FailReason = "결제창을 열 수 없습니다. " + pgErrorMessage(err)
	} else {
		ws, _ := json.Marshal(windowState{PG: start.State, Mobile: in.Mobile})
		upd.WindowState = string(ws)
		upd.PGTID = start.PGTID
	}
	var out store.Payment
	werr := s.writePayment(context.WithoutCancel(ctx), p, func(q store.Q) error {
		var e error
		out, e = q.UpdatePayment(ctx, upd, store.PGStateNone, 0)
		return e
	})
	if werr != nil {
		return store.Payment{}, pg.IssueStart{}, werr
	}
	if err != nil {
		return out, pg.IssueStart{}, &Error{Kind: KindPG, Message: upd.FailReason, Err: err}
	}
	return out, start, nil
}

// WindowOutcome is how the buyer left the PG's window.
type WindowOutcome string

const (
	WindowApproved  WindowOutcome = "approved"
	WindowCancelled WindowOutcome = "cancelled"
	WindowFailed    WindowOutcome = "failed"
)

// MsgWindowCancelled is the message when the buyer closes or cancels the window.
const MsgWindowCancelled = "사용자가 결제를 취소하였습니다. (the buyer closed the payment window)"

// CompleteWindow finishes a window issuance after the buyer came back:
// completes it with the PG (no transaction held), stores the key under
// customer_uid, and records the outcome. Calling it again for a settled
// payment just returns the payment.
func (s *Service) CompleteWindow(ctx context.Context, merchantID int64, impUID string, outcome WindowOutcome, params url.Values) (store.Payment, error) {
	p, err := s.Store.Read().Payment(ctx, merchantID, impUID)
	if store.IsNotFound(err) {
		return p, notFound(MsgPaymentNotFound)
	}
	if err != nil {
		return p, err
	}
	if p.CustomerUIDUsage != UsageIssue || p.Status != "ready" || p.PGState != store.PGStateNone || p.PaidAt != 0 || p.WindowState == "" {
		return p, nil // settled already (or not a window): idempotent
	}
	var ws windowState
	_ = json.Unmarshal([]byte(p.WindowState), &ws)
	wctx := context.WithoutCancel(ctx)
	if outcome != WindowApproved {
		reason := MsgWindowCancelled
		if outcome == WindowFailed {
			reason = "PG사 결제창에서 인증에 실패했습니다. (the PG window reported a failure)"
			if m := params.Get("error_msg"); m != "" {
				reason += " " + m
			}
		}
		return s.finishWindow(wctx, p, func(u *store.Payment) {
			u.Status, u.FailedAt, u.FailReason = "failed", s.now(), reason
		}, store.PGStateNone)
	}
	ch, err := s.channelByID(ctx, merchantID, p.ChannelID)
	if err != nil {
		return p, err
	}
	// Claim: in flight while the PG completes (Kakao charges here when amount > 0).
	claim := p
	claim.PGState, claim.InflightUntil, claim.UpdatedAt = store.PGStateInflight, s.leaseUntil(), s.now()
	if err := s.writePayment(wctx, p, func(q store.Q) error {
		var e error
		claim, e = q.UpdatePayment(wctx, claim, store.PGStateNone, 0)
		return e
	}); err != nil {
		if store.IsNotFound(err) {
			return s.Store.Read().Payment(wctx, merchantID, impUID)
		}
		return p, err
	}
	pctx, cancel := s.pgCtx(ctx)
	res, callErr := ch.Connector.CompleteIssue(pctx, ch.PG, pg.IssueComplete{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID,
		CustomerUID: p.CustomerUID, Amount: p.Amount, State: ws.PG, Params: params})
	cancel()
	if callErr != nil {
		if pg.IsUnknown(callErr) && p.Amount > 0 && ch.Row.Provider == "kakaopay" {
			return claim, &Error{Kind: KindPG, Message: pgErrorMessage(callErr), Err: callErr} // reconciler settles it
		}
		res = pg.IssueResult{Status: pg.StatusFailed, FailReason: pgErrorMessage(callErr)}
	}
	if res.Status == pg.StatusPaid && res.BillingKey != "" {
		if _, err := s.storeKey(wctx, merchantID, ch, p.CustomerUID, res, customerInfo{
			Name: p.BuyerName, Tel: p.BuyerTel, Email: p.BuyerEmail, Addr: p.BuyerAddr, Postcode: p.BuyerPostcode,
		}); err != nil {
			return claim, err
		}
	}
	return s.finishWindow(wctx, claim, func(u *store.Payment) {
		u.PayMethod = or(res.PayMethod, u.PayMethod)
		u.PGTID = or(res.PGTID, u.PGTID)
		if res.Card.Name != "" {
			u.CardName, u.CardCode, u.CardNumber, u.CardType = res.Card.Name, res.Card.Code, res.Card.Number, cardType(res.Card.Type)
		}
		u.ApplyNum, u.ReceiptURL = res.ApplyNum, res.ReceiptURL
		switch {
		case res.Status != pg.StatusPaid || res.BillingKey == "":
			u.Status, u.FailedAt = "failed", s.now()
			u.FailReason = or(res.FailReason, "빌링키 발급에 실패했습니다. (billing key issuance failed)")
			if res.FailCode != "" {
				u.FailReason = "[" + res.FailCode + "] " + u.FailReason
			}
		case res.Charged:
			u.Status, u.PaidAt = "paid", s.now()
			if !res.PaidAt.IsZero() {
				u.PaidAt = res.PaidAt.Unix()
			}
		default:
			// Key issued, nothing charged: the record stays ready with paid_at 0
			// (see docs/compat.md); WindowState is cleared so it is settled.
		}
		u.WindowState = ""
	}, store.PGStateInflight)
}

func (s *Service) finishWindow(ctx context.Context, p store.Payment, mut func(*store.Payment), expect string) (store.Payment, error) {
	upd := p
	mut(&upd)
	upd.PGState, upd.InflightUntil, upd.UpdatedAt = store.PGStateNone, 0, s.now()
	var out store.Payment
	err := s.writePayment(ctx, p, func(q store.Q) error {
		var e error
		out, e = q.UpdatePayment(ctx, upd, expect, p.CancelAmount)
		if e != nil {
			return e
		}
		if out.Status == "paid" {
			return s.notify(ctx, q, out, EventPaid)
		}
		return nil
	})
	if store.IsNotFound(err) {
		return s.Store.Read().Payment(ctx, p.MerchantID, p.ImpUID)
	}
	if err != nil {
		return p, err
	}
	out.Cancels = []store.Cancel{}
	return out, nil
}
