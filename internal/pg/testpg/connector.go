// Package testpg is billkey's connector for its own deterministic test PG
// (internal/pgsim/testpg): key-in and window issuance, charges, cancels,
// lookups by order id and key deletion over a small JSON API. The test cards
// and what they do are listed in the emulator's package.
package testpg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"billkey/internal/pg"
)

const provider = "testpg"

const defaultTimeout = 30 * time.Second

// stateWindowID is the IssueStart.State key of the window id.
const stateWindowID = "window_id"

// Connector implements pg.Connector and pg.KeyInConnector for testpg. It is stateless.
type Connector struct {
	http *http.Client
}

var (
	_ pg.Connector      = (*Connector)(nil)
	_ pg.KeyInConnector = (*Connector)(nil)
)

// New returns a testpg connector using httpClient (nil: a client with a 30 s timeout).
func New(httpClient *http.Client) *Connector {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	return &Connector{http: httpClient}
}

func (c *Connector) Provider() string { return provider }

// SupportsKeyIn is true: testpg issues keys from card numbers.
func (c *Connector) SupportsKeyIn() bool { return true }

// apiErr is testpg's error body.
type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	TID     string `json:"tid"`
}

// keyResp is testpg's answer to an issuance.
type keyResp struct {
	BillingKey string `json:"billing_key"`
	CardName   string `json:"card_name"`
	CardCode   string `json:"card_code"`
	CardNumber string `json:"card_number"`
	CardType   *int   `json:"card_type"`
	IssuedAt   int64  `json:"issued_at"`
}

// chargeResp is testpg's charge record.
type chargeResp struct {
	TID         string `json:"tid"`
	OrderID     string `json:"order_id"`
	Status      string `json:"status"`
	Amount      int64  `json:"amount"`
	PaidAt      int64  `json:"paid_at"`
	FailedAt    int64  `json:"failed_at"`
	ApplyNum    string `json:"apply_num"`
	CardName    string `json:"card_name"`
	CardCode    string `json:"card_code"`
	CardNumber  string `json:"card_number"`
	CardType    *int   `json:"card_type"`
	FailCode    string `json:"fail_code"`
	FailMessage string `json:"fail_message"`
	ReceiptURL  string `json:"receipt_url"`
}

// reply is one HTTP answer of testpg.
type reply struct {
	status int
	body   []byte
}

// apiErr decodes the error body; ok is false when it is not testpg's.
func (r reply) apiErr() (apiErr, bool) {
	var e apiErr
	if json.Unmarshal(r.body, &e) != nil || e.Code == "" {
		return e, false
	}
	return e, true
}

// pgError turns a non-2xx answer into a *pg.Error: 5xx is an unknown
// outcome, 4xx a refusal (testpg did nothing).
func (r reply) pgError(what string) *pg.Error {
	e, ok := r.apiErr()
	code, msg := e.Code, e.Message
	if !ok {
		code, msg = "HTTP_"+strconv.Itoa(r.status), what+": HTTP "+strconv.Itoa(r.status)
	}
	return &pg.Error{Provider: provider, Code: code, Message: msg, Unknown: r.status >= 500 || r.status < 400}
}

const maxResponse = 1 << 20

// do sends one request. It returns an error only when no HTTP answer was read.
func (c *Connector) do(ctx context.Context, ch pg.Channel, method, path string, body any) (reply, error) {
	if ch.BaseURL == "" {
		return reply{}, &pg.Error{Provider: provider, Code: "CONFIG", Message: "channel has no BaseURL"}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, &pg.Error{Provider: provider, Code: "ENCODE", Message: err.Error()}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(ch.BaseURL, "/")+path, rd)
	if err != nil {
		return reply{}, &pg.Error{Provider: provider, Code: "CONFIG", Message: err.Error()}
	}
	secret := ch.Credentials["secret"]
	if secret == "" {
		secret = "test"
	}
	req.Header.Set("Authorization", "TestPG "+secret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	what := method + " " + opName(path)
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, transportError(what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return reply{}, &pg.Error{Provider: provider, Code: "NETWORK", Message: what + ": reading response: " + err.Error(), Unknown: true}
	}
	return reply{status: resp.StatusCode, body: raw}, nil
}

// opName is path without secrets (the billing key in DELETE /v1/keys/{key}).
func opName(path string) string {
	if strings.HasPrefix(path, "/v1/keys/") {
		return "/v1/keys/{billing_key}"
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

// transportError classifies a failed round trip: a failed dial means nothing
// was sent (Unknown false); anything later may have reached testpg.
func transportError(what string, err error) *pg.Error {
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return &pg.Error{Provider: provider, Code: "CONNECT", Message: what + ": " + err.Error()}
	}
	code := "NETWORK"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		code = "TIMEOUT"
	}
	return &pg.Error{Provider: provider, Code: code, Message: what + ": " + err.Error(), Unknown: true}
}

func badResponse(what string, err error) *pg.Error {
	return &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: what + ": " + err.Error(), Unknown: true}
}

func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// issueResult maps an issuance answer (POST /v1/keys, window complete).
func issueResult(r reply, what string) (pg.IssueResult, error) {
	switch {
	case r.status == http.StatusOK:
		var k keyResp
		if err := json.Unmarshal(r.body, &k); err != nil {
			return pg.IssueResult{}, badResponse(what, err)
		}
		if k.BillingKey == "" {
			return pg.IssueResult{}, badResponse(what, errors.New("no billing_key"))
		}
		return pg.IssueResult{Status: pg.StatusPaid, BillingKey: k.BillingKey, PayMethod: "card",
			Card: pg.Card{Name: k.CardName, Code: k.CardCode, Number: k.CardNumber, Type: k.CardType}}, nil
	case r.status == http.StatusPaymentRequired:
		e, _ := r.apiErr()
		return pg.IssueResult{Status: pg.StatusFailed, FailCode: e.Code, FailReason: e.Message}, nil
	}
	return pg.IssueResult{}, r.pgError(what)
}

// IssueKeyIn issues a key from card data (POST /v1/keys). A decline is a
// failed result with a nil error.
func (c *Connector) IssueKeyIn(ctx context.Context, ch pg.Channel, req pg.KeyInRequest) (pg.IssueResult, error) {
	r, err := c.do(ctx, ch, http.MethodPost, "/v1/keys", map[string]string{"card_number": req.CardNumber,
		"expiry": req.Expiry, "birth": req.Birth, "pwd_2digit": req.Pwd2Digit, "cvc": req.CVC, "customer_uid": req.CustomerUID})
	if err != nil {
		return pg.IssueResult{}, err
	}
	return issueResult(r, "issue key")
}

// StartIssue opens a window (POST /v1/windows); the PG order id is req.ImpUID.
func (c *Connector) StartIssue(ctx context.Context, ch pg.Channel, req pg.IssueRequest) (pg.IssueStart, error) {
	r, err := c.do(ctx, ch, http.MethodPost, "/v1/windows", map[string]any{"order_id": req.ImpUID,
		"customer_uid": req.CustomerUID, "amount": req.Amount, "name": req.Name, "return_url": req.ReturnURL,
		"cancel_url": req.CancelURL, "fail_url": req.FailURL})
	if err != nil {
		return pg.IssueStart{}, err
	}
	if r.status != http.StatusOK {
		return pg.IssueStart{}, r.pgError("open window")
	}
	var out struct {
		WindowID string `json:"window_id"`
		URL      string `json:"url"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		return pg.IssueStart{}, badResponse("open window", err)
	}
	if out.WindowID == "" || out.URL == "" {
		return pg.IssueStart{}, badResponse("open window", errors.New("no window_id or url"))
	}
	return pg.IssueStart{PCURL: out.URL, MobileURL: out.URL, State: map[string]string{stateWindowID: out.WindowID}}, nil
}

// CompleteIssue issues the key chosen in the window
// (POST /v1/windows/{id}/complete with the token the return URL carries).
func (c *Connector) CompleteIssue(ctx context.Context, ch pg.Channel, req pg.IssueComplete) (pg.IssueResult, error) {
	id := req.State[stateWindowID]
	if id == "" {
		id = req.Params.Get("window_id")
	}
	if id == "" {
		return pg.IssueResult{}, &pg.Error{Provider: provider, Code: "INVALID", Message: "issuance state lacks window_id"}
	}
	if p := req.Params.Get("window_id"); p != "" && p != id {
		return pg.IssueResult{}, &pg.Error{Provider: provider, Code: "INVALID", Message: "return URL is for another window"}
	}
	token := req.Params.Get("token")
	if token == "" {
		// testpg appends a token only on approval: the buyer cancelled or the window failed.
		code, msg := req.Params.Get("code"), req.Params.Get("message")
		if code == "" {
			code = "TOKEN_MISSING"
		}
		if msg == "" {
			msg = "testpg returned no token: the buyer cancelled or the window failed"
		}
		return pg.IssueResult{Status: pg.StatusFailed, FailCode: code, FailReason: msg}, nil
	}
	r, err := c.do(ctx, ch, http.MethodPost, "/v1/windows/"+url.PathEscape(id)+"/complete", map[string]string{"token": token})
	if err != nil {
		return pg.IssueResult{}, err
	}
	return issueResult(r, "complete window")
}

func chargeResult(ch chargeResp) pg.ChargeResult {
	res := pg.ChargeResult{Status: ch.Status, PGTID: ch.TID, PayMethod: "card",
		Card:     pg.Card{Name: ch.CardName, Code: ch.CardCode, Number: ch.CardNumber, Type: ch.CardType},
		ApplyNum: ch.ApplyNum, ReceiptURL: ch.ReceiptURL}
	if ch.Status == pg.StatusPaid {
		res.PaidAt = unixTime(ch.PaidAt)
	} else {
		res.Status, res.FailCode, res.FailReason = pg.StatusFailed, ch.FailCode, ch.FailMessage
	}
	return res
}

// Charge charges a key (POST /v1/charges, order id req.ImpUID). A decline
// (HTTP 402) is a failed result; 5xx and transport failures after sending are
// unknown outcomes.
func (c *Connector) Charge(ctx context.Context, ch pg.Channel, req pg.ChargeRequest) (pg.ChargeResult, error) {
	r, err := c.do(ctx, ch, http.MethodPost, "/v1/charges", map[string]any{"billing_key": req.BillingKey,
		"order_id": req.ImpUID, "amount": req.Amount, "tax_free": req.TaxFree, "name": req.Name})
	if err != nil {
		return pg.ChargeResult{}, err
	}
	switch r.status {
	case http.StatusOK:
		var out chargeResp
		if err := json.Unmarshal(r.body, &out); err != nil {
			return pg.ChargeResult{}, badResponse("charge", err)
		}
		if out.Status != pg.StatusPaid || out.TID == "" {
			return pg.ChargeResult{}, badResponse("charge", errors.New("HTTP 200 without a paid charge"))
		}
		return chargeResult(out), nil
	case http.StatusPaymentRequired:
		e, ok := r.apiErr()
		if !ok {
			return pg.ChargeResult{}, badResponse("charge", errors.New("HTTP 402 without code"))
		}
		return pg.ChargeResult{Status: pg.StatusFailed, PGTID: e.TID, PayMethod: "card", FailCode: e.Code, FailReason: e.Message}, nil
	}
	return pg.ChargeResult{}, r.pgError("charge")
}

// Cancel cancels part or all of a charge (POST /v1/charges/{tid}/cancel). A
// refusal (over-cancel, unknown tid) is a *pg.Error with Unknown false.
func (c *Connector) Cancel(ctx context.Context, ch pg.Channel, req pg.CancelRequest) (pg.CancelResult, error) {
	if req.PGTID == "" {
		return pg.CancelResult{}, &pg.Error{Provider: provider, Code: "INVALID", Message: "cancel without the charge's tid"}
	}
	if req.Amount <= 0 {
		return pg.CancelResult{}, &pg.Error{Provider: provider, Code: "INVALID", Message: "cancel amount must be positive"}
	}
	r, err := c.do(ctx, ch, http.MethodPost, "/v1/charges/"+url.PathEscape(req.PGTID)+"/cancel",
		map[string]any{"amount": req.Amount, "reason": req.Reason})
	if err != nil {
		return pg.CancelResult{}, err
	}
	if r.status != http.StatusOK {
		return pg.CancelResult{}, r.pgError("cancel")
	}
	var out struct {
		CancelTID   string `json:"cancel_tid"`
		CancelledAt int64  `json:"cancelled_at"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		return pg.CancelResult{}, badResponse("cancel", err)
	}
	if out.CancelTID == "" {
		return pg.CancelResult{}, badResponse("cancel", errors.New("no cancel_tid"))
	}
	return pg.CancelResult{PGTID: out.CancelTID, CancelledAt: unixTime(out.CancelledAt)}, nil
}

// Lookup finds a charge by order id (GET /v1/charges?order_id=req.ImpUID);
// no tid is needed.
func (c *Connector) Lookup(ctx context.Context, ch pg.Channel, req pg.LookupRequest) (pg.LookupResult, error) {
	if req.ImpUID == "" {
		return pg.LookupResult{}, &pg.Error{Provider: provider, Code: "INVALID", Message: "lookup without an order id"}
	}
	r, err := c.do(ctx, ch, http.MethodGet, "/v1/charges?order_id="+url.QueryEscape(req.ImpUID), nil)
	if err != nil {
		return pg.LookupResult{}, err
	}
	switch r.status {
	case http.StatusOK:
		var out chargeResp
		if err := json.Unmarshal(r.body, &out); err != nil {
			return pg.LookupResult{}, badResponse("lookup", err)
		}
		if out.TID == "" || (out.Status != pg.StatusPaid && out.Status != pg.StatusFailed) {
			return pg.LookupResult{}, badResponse("lookup", errors.New("charge without tid or status"))
		}
		if req.PGTID != "" && out.TID != req.PGTID {
			return pg.LookupResult{}, &pg.Error{Provider: provider, Code: "BAD_RESPONSE",
				Message: "testpg's charge for this order id has another tid", Unknown: true}
		}
		return pg.LookupResult{Found: true, Charge: chargeResult(out)}, nil
	case http.StatusNotFound:
		// Only testpg's own "no such charge" proves nothing was charged; a
		// bare 404 (wrong base URL) proves nothing.
		if e, ok := r.apiErr(); ok && e.Code == "CHARGE_NOT_FOUND" {
			return pg.LookupResult{Found: false}, nil
		}
		return pg.LookupResult{}, &pg.Error{Provider: provider, Code: "HTTP_404", Message: "lookup: HTTP 404", Unknown: true}
	}
	return pg.LookupResult{}, r.pgError("lookup")
}

// DeleteKey deletes a key (DELETE /v1/keys/{key}). A key testpg does not know
// counts as deleted.
func (c *Connector) DeleteKey(ctx context.Context, ch pg.Channel, billingKey string) error {
	if billingKey == "" {
		return &pg.Error{Provider: provider, Code: "INVALID", Message: "no billing key"}
	}
	r, err := c.do(ctx, ch, http.MethodDelete, "/v1/keys/"+url.PathEscape(billingKey), nil)
	if err != nil {
		return err
	}
	switch r.status {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		if e, ok := r.apiErr(); ok && e.Code == "KEY_NOT_FOUND" {
			return nil
		}
	}
	return r.pgError("delete key")
}
