// Package kakaopay is billkey's Kakao Pay connector. It speaks the current
// Online Payment API (POST {BaseURL}/online/v1/payment/..., JSON bodies,
// Authorization: SECRET_KEY {secret}); the CID is the channel's MID and
// must be a subscription CID (TCSUBSCRIP in test mode).
//
// Billing keys are issued only through Kakao's window: StartIssue calls
// ready, the buyer approves, CompleteIssue calls approve with the pg_token.
// The stored BillingKey packs the sid, the partner_user_id it is bound to,
// and the buyer's method (CARD/MONEY); see key.go.
package kakaopay

import (
	"context"
	"net/http"
	"time"
	"unicode/utf8"

	"billkey/internal/pg"
)

// Connector implements pg.Connector for Kakao Pay. It is stateless.
type Connector struct {
	http *http.Client
}

var _ pg.Connector = (*Connector)(nil)

// New returns a connector that uses httpClient (nil: a client with a 30s timeout).
func New(httpClient *http.Client) *Connector {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Connector{http: httpClient}
}

func (c *Connector) Provider() string    { return provider }
func (c *Connector) SupportsKeyIn() bool { return false }

// State keys kept between StartIssue and CompleteIssue.
const (
	stateTID     = "tid"
	stateOrderID = "partner_order_id"
	stateUserID  = "partner_user_id"
)

const defaultItemName = "정기결제"

// itemName trims s to Kakao's 100-character limit.
func itemName(s string) string {
	if s == "" {
		return defaultItemName
	}
	if utf8.RuneCountInString(s) <= 100 {
		return s
	}
	return string([]rune(s)[:100])
}

// StartIssue calls ready on the subscription CID. Amount 0 issues a sid only.
func (c *Connector) StartIssue(ctx context.Context, ch pg.Channel, req pg.IssueRequest) (pg.IssueStart, error) {
	if req.CustomerUID == "" {
		return pg.IssueStart{}, errf("INVALID", "customer_uid is required (it is Kakao's partner_user_id)")
	}
	if req.Amount < 0 || req.TaxFree < 0 || req.TaxFree > req.Amount {
		return pg.IssueStart{}, errf("INVALID", "invalid amount %d / tax_free %d", req.Amount, req.TaxFree)
	}
	body := readyReq{
		CID: ch.MID, CIDSecret: ch.Credentials["cid_secret"], PartnerOrderID: req.ImpUID, PartnerUserID: req.CustomerUID,
		ItemName: itemName(req.Name), Quantity: 1, TotalAmount: req.Amount, TaxFreeAmount: req.TaxFree,
		ApprovalURL: req.ReturnURL, CancelURL: req.CancelURL, FailURL: req.FailURL,
	}
	var out readyResp
	kerr, err := c.post(ctx, ch, "ready", body, &out)
	if err != nil {
		return pg.IssueStart{}, err
	}
	if kerr != nil {
		return pg.IssueStart{}, kerr.pgError()
	}
	return pg.IssueStart{
		PCURL: out.NextRedirectPCURL, MobileURL: out.NextRedirectMobileURL, PGTID: out.TID,
		State: map[string]string{stateTID: out.TID, stateOrderID: req.ImpUID, stateUserID: req.CustomerUID},
	}, nil
}

// CompleteIssue calls approve with the pg_token Kakao put on approval_url.
func (c *Connector) CompleteIssue(ctx context.Context, ch pg.Channel, req pg.IssueComplete) (pg.IssueResult, error) {
	tid, orderID, userID := req.State[stateTID], req.State[stateOrderID], req.State[stateUserID]
	if tid == "" || orderID == "" || userID == "" {
		return pg.IssueResult{}, errf("INVALID", "issuance state lacks tid/partner ids")
	}
	token := req.Params.Get("pg_token")
	if token == "" {
		// Kakao appends pg_token only on approval; without it the buyer
		// cancelled or the window failed, and there is nothing to approve.
		return pg.IssueResult{Status: pg.StatusFailed, PGTID: tid, FailCode: "PG_TOKEN_MISSING",
			FailReason: "Kakao Pay returned no pg_token: the buyer cancelled or the payment window failed"}, nil
	}
	body := approveReq{CID: ch.MID, CIDSecret: ch.Credentials["cid_secret"], TID: tid, PartnerOrderID: orderID,
		PartnerUserID: userID, PgToken: token}
	if req.Amount > 0 {
		amount := req.Amount // Kakao checks it equals the ready amount
		body.TotalAmount = &amount
	}
	var out approveResp
	kerr, err := c.post(ctx, ch, "approve", body, &out)
	if err != nil {
		return pg.IssueResult{}, err
	}
	if kerr != nil {
		return pg.IssueResult{Status: pg.StatusFailed, PGTID: tid, FailCode: kerr.code(), FailReason: kerr.Message}, nil
	}
	res := pg.IssueResult{
		Status:    pg.StatusPaid,
		PayMethod: payMethod(out.PaymentMethodType),
		Card:      cardFrom(out.CardInfo),
		PGTID:     out.TID,
		Charged:   out.Amount.Total > 0,
		PaidAt:    parseTime(out.ApprovedAt),
	}
	if out.CardInfo != nil {
		res.ApplyNum = out.CardInfo.ApprovedID
	}
	if out.SID == "" {
		// Approved on a CID that issues no sid (a one-time CID): no key.
		res.Status, res.FailCode = pg.StatusFailed, "NO_SID"
		res.FailReason = "Kakao Pay approved the payment but issued no sid: the channel's CID " +
			ch.MID + " is not a subscription CID"
		return res, nil
	}
	res.BillingKey = packKey(billingKey{SID: out.SID, UserID: userID, Method: out.PaymentMethodType})
	return res, nil
}

// Charge calls subscription with the stored sid.
func (c *Connector) Charge(ctx context.Context, ch pg.Channel, req pg.ChargeRequest) (pg.ChargeResult, error) {
	key, ok := unpackKey(req.BillingKey)
	if !ok {
		return pg.ChargeResult{}, errf("BAD_KEY", "billing key is not a Kakao Pay key")
	}
	if req.Amount <= 0 || req.TaxFree < 0 || req.TaxFree > req.Amount {
		return pg.ChargeResult{}, errf("INVALID", "invalid amount %d / tax_free %d", req.Amount, req.TaxFree)
	}
	body := subscriptionReq{
		CID: ch.MID, CIDSecret: ch.Credentials["cid_secret"], SID: key.SID, PartnerOrderID: req.ImpUID, PartnerUserID: key.UserID,
		ItemName: itemName(req.Name), Quantity: 1, TotalAmount: req.Amount, TaxFreeAmount: req.TaxFree,
		VatAmount: req.VatAmount,
	}
	var out approveResp
	kerr, err := c.post(ctx, ch, "subscription", body, &out)
	if err != nil {
		return pg.ChargeResult{}, err
	}
	if kerr != nil {
		return pg.ChargeResult{Status: pg.StatusFailed, PayMethod: payMethod(key.Method),
			FailCode: kerr.code(), FailReason: kerr.Message}, nil
	}
	method := out.PaymentMethodType
	if method == "" {
		method = key.Method
	}
	res := pg.ChargeResult{
		Status: pg.StatusPaid, PGTID: out.TID, PayMethod: payMethod(method),
		Card: cardFrom(out.CardInfo), PaidAt: parseTime(out.ApprovedAt),
	}
	if out.CardInfo != nil {
		res.ApplyNum = out.CardInfo.ApprovedID
	}
	return res, nil
}

// Cancel calls cancel. A Kakao refusal (-710 over-cancel, -784 not
// cancellable, ...) is a *pg.Error with Unknown false: nothing was cancelled.
func (c *Connector) Cancel(ctx context.Context, ch pg.Channel, req pg.CancelRequest) (pg.CancelResult, error) {
	if req.PGTID == "" {
		return pg.CancelResult{}, errf("INVALID", "cancel needs the Kakao tid")
	}
	if req.Amount <= 0 || req.TaxFree < 0 || req.TaxFree > req.Amount {
		return pg.CancelResult{}, errf("INVALID", "invalid cancel amount %d / tax_free %d", req.Amount, req.TaxFree)
	}
	body := cancelReq{CID: ch.MID, CIDSecret: ch.Credentials["cid_secret"], TID: req.PGTID, CancelAmount: req.Amount,
		CancelTaxFreeAmount: req.TaxFree, CancelVatAmount: req.VatAmount}
	if req.Remaining > 0 {
		rem := req.Remaining // Kakao's optimistic check: cancellable amount including this cancel
		body.CancelAvailableAmount = &rem
	}
	var out cancelResp
	kerr, err := c.post(ctx, ch, "cancel", body, &out)
	if err != nil {
		return pg.CancelResult{}, err
	}
	if kerr != nil {
		return pg.CancelResult{}, kerr.pgError()
	}
	return pg.CancelResult{PGTID: out.AID, CancelledAt: parseTime(out.CanceledAt)}, nil
}

// Lookup calls order with the tid. Kakao cannot search by partner_order_id,
// so without a tid it returns pg.ErrLookupUnsupported.
//
// Status mapping: SUCCESS_PAYMENT, PART_CANCEL_PAYMENT, CANCEL_PAYMENT →
// found, paid (the charge happened; cancels are billkey's own records).
// FAIL_PAYMENT, FAIL_AUTH_PASSWORD, QUIT_PAYMENT → found, failed (the buyer's
// window ended without a charge). READY and the other in-window states,
// ISSUED_SID (0 won, no charge) and an unknown tid (-721) → not found.
func (c *Connector) Lookup(ctx context.Context, ch pg.Channel, req pg.LookupRequest) (pg.LookupResult, error) {
	if req.PGTID == "" {
		return pg.LookupResult{}, pg.ErrLookupUnsupported
	}
	var out orderResp
	kerr, err := c.post(ctx, ch, "order", tidReq{CID: ch.MID, CIDSecret: ch.Credentials["cid_secret"], TID: req.PGTID}, &out)
	if err != nil {
		return pg.LookupResult{}, err
	}
	if kerr != nil {
		if kerr.Code == -721 {
			return pg.LookupResult{Found: false}, nil
		}
		return pg.LookupResult{}, kerr.pgError()
	}
	switch out.Status {
	case "SUCCESS_PAYMENT", "PART_CANCEL_PAYMENT", "CANCEL_PAYMENT":
		res := pg.ChargeResult{Status: pg.StatusPaid, PGTID: out.TID, PayMethod: payMethod(out.PaymentMethodType),
			PaidAt: parseTime(out.ApprovedAt)}
		if sc := out.SelectedCardInfo; sc != nil {
			res.Card = pg.Card{Name: sc.CardCorpName, Code: kftcCode(sc.CardCorpName)}
			if sc.CardBin != "" {
				res.Card.Number = sc.CardBin + "**********"
			}
		}
		return pg.LookupResult{Found: true, Charge: res}, nil
	case "FAIL_PAYMENT", "FAIL_AUTH_PASSWORD", "QUIT_PAYMENT":
		return pg.LookupResult{Found: true, Charge: pg.ChargeResult{Status: pg.StatusFailed, PGTID: out.TID,
			FailCode: out.Status, FailReason: "Kakao Pay order status " + out.Status}}, nil
	default:
		return pg.LookupResult{Found: false}, nil
	}
}

// DeleteKey deactivates the sid (manage/subscription/inactive). A sid Kakao
// does not know (-750) or that is already inactive (-751) counts as deleted.
func (c *Connector) DeleteKey(ctx context.Context, ch pg.Channel, billingKey string) error {
	key, ok := unpackKey(billingKey)
	if !ok {
		return errf("BAD_KEY", "billing key is not a Kakao Pay key")
	}
	var out inactiveResp
	kerr, err := c.post(ctx, ch, "manage/subscription/inactive", sidReq{CID: ch.MID, CIDSecret: ch.Credentials["cid_secret"], SID: key.SID}, &out)
	if err != nil {
		return err
	}
	if kerr != nil {
		if kerr.Code == -750 || kerr.Code == -751 {
			return nil
		}
		return kerr.pgError()
	}
	if out.Status != "" && out.Status != "INACTIVE" {
		return errf("UNEXPECTED", "inactive answered status %q", out.Status)
	}
	return nil
}
