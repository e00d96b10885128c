// Package pg defines how billkey talks to a payment gateway (PG): the
// Connector interface that every provider implements (kakaopay, payco, the
// deterministic testpg), the request and result types that cross it, and a
// registry of connectors by provider name.
//
// Rules every connector follows:
//   - A connector is stateless: everything it needs comes in the Channel and the
//     request; everything billkey must remember comes back in the result
//     (IssueStart.State, IssueResult.BillingKey).
//   - BillingKey strings are secrets. They are opaque to billkey (a connector may
//     pack several PG values into one, e.g. Kakao's sid with its partner_user_id),
//     billkey encrypts them at rest, and a connector never logs them.
//   - A PG's business refusal (card declined, limit exceeded) is a result with
//     Status "failed" and a nil error. An error means the outcome is unknown or
//     nothing was attempted (transport failure, timeout, 5xx, bad credentials);
//     see *Error for how to tell which.
package pg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Channel is one configured PG channel of a merchant, as a connector sees it.
type Channel struct {
	Provider string // "kakaopay", "payco", "testpg"
	MID      string // Kakao CID, PAYCO seller key / MID, testpg merchant id
	Live     bool   // false: test mode (emulator)
	// BaseURL is where the PG's API lives: the real service in live mode, the
	// emulator's prefix in test mode (e.g. http://127.0.0.1:8080/pgsim/kakaopay).
	BaseURL string
	// Credentials are the channel's decrypted secrets (e.g. "secret_key" for
	// Kakao Pay; "seller_key", "cp_id", "product_id" for PAYCO).
	Credentials map[string]string
}

// Card is what a PG tells about the card (or wallet) behind a key or a charge.
type Card struct {
	Name   string // card_name
	Code   string // KFTC card company code, e.g. "361"
	Number string // masked
	Type   *int   // 0 credit, 1 check, nil unknown
}

// IssueRequest starts a billing-key issuance through the PG's window.
type IssueRequest struct {
	ImpUID      string // billkey's payment id for this issuance; use as the PG order id
	MerchantUID string
	CustomerUID string
	Name        string
	Amount      int64 // Kakao: >0 charges at approval; PAYCO: display only
	TaxFree     int64
	BuyerName   string
	BuyerEmail  string
	BuyerTel    string
	// The PG sends the buyer's browser back to one of these when the window ends.
	ReturnURL string // success (Kakao approval_url, PAYCO returnUrl)
	CancelURL string
	FailURL   string
	Mobile    bool
}

// IssueStart says where to send the buyer, and what to keep until completion.
type IssueStart struct {
	PCURL     string            // window URL for PC (iframe/popup)
	MobileURL string            // window URL for mobile (full-page redirect)
	PGTID     string            // the PG's transaction id, if it has one now
	State     map[string]string // opaque, given back in CompleteIssue; not secret
}

// IssueComplete finishes an issuance after the buyer came back.
type IssueComplete struct {
	ImpUID      string
	MerchantUID string
	CustomerUID string
	Amount      int64
	State       map[string]string // from IssueStart
	Params      url.Values        // query/form the PG attached to the return URL (e.g. pg_token)
}

// IssueResult is the outcome of a completed issuance.
type IssueResult struct {
	Status     string // "paid" (key issued; charged too if Charged), or "failed"
	BillingKey string // secret; empty when failed
	PayMethod  string // i'mport pay_method: "card" or "point" (Kakao Money)
	Card       Card
	PGTID      string
	// Charged is true when the PG charged Amount at issuance (Kakao Pay, amount > 0).
	Charged    bool
	PaidAt     time.Time
	ApplyNum   string
	ReceiptURL string
	FailCode   string
	FailReason string
}

// ChargeRequest charges a stored billing key (i'mport "again" / schedules).
type ChargeRequest struct {
	ImpUID      string // billkey's payment id; connectors send it as the PG order id
	MerchantUID string
	CustomerUID string
	BillingKey  string
	Name        string
	Amount      int64
	TaxFree     int64
	VatAmount   *int64
	CardQuota   int
	BuyerName   string
	BuyerEmail  string
	BuyerTel    string
}

// Result statuses.
const (
	StatusPaid   = "paid"
	StatusFailed = "failed"
)

// ChargeResult is the PG's answer to a charge.
type ChargeResult struct {
	Status     string // StatusPaid or StatusFailed
	PGTID      string
	PayMethod  string // "card", "point", ...
	Card       Card
	PaidAt     time.Time
	ApplyNum   string
	ReceiptURL string
	FailCode   string // PG's own code, e.g. Kakao "-752"
	FailReason string // PG's own message
}

// CancelRequest cancels part or all of a paid charge.
type CancelRequest struct {
	ImpUID      string
	PGTID       string
	Amount      int64 // to cancel now
	TaxFree     int64
	VatAmount   *int64
	Remaining   int64 // cancellable balance before this cancel
	TotalAmount int64 // original amount
	Reason      string
	BillingKey  string // some PGs need it (may be empty if the key was deleted)
}

// CancelResult is the PG's answer to a successful cancel.
type CancelResult struct {
	PGTID       string // cancel approval id
	CancelledAt time.Time
	ReceiptURL  string
}

// LookupRequest asks the PG what happened to a charge billkey may have sent.
type LookupRequest struct {
	ImpUID      string // the PG order id billkey used
	PGTID       string // may be empty if billkey crashed before recording it
	MerchantUID string
	CustomerUID string
	BillingKey  string
	Amount      int64
}

// LookupResult is what the PG knows of that charge.
type LookupResult struct {
	Found  bool         // false: the PG never charged it
	Charge ChargeResult // when Found
}

// Connector talks to one kind of PG.
type Connector interface {
	Provider() string
	// SupportsKeyIn reports whether billing keys can be issued from card numbers
	// over the API (POST /subscribe/customers/{uid}, onetime). False for kakaopay and payco.
	SupportsKeyIn() bool
	StartIssue(ctx context.Context, ch Channel, req IssueRequest) (IssueStart, error)
	CompleteIssue(ctx context.Context, ch Channel, req IssueComplete) (IssueResult, error)
	Charge(ctx context.Context, ch Channel, req ChargeRequest) (ChargeResult, error)
	Cancel(ctx context.Context, ch Channel, req CancelRequest) (CancelResult, error)
	// Lookup returns ErrLookupUnsupported when the PG cannot find a charge from
	// what billkey has (e.g. Kakao Pay without a tid).
	Lookup(ctx context.Context, ch Channel, req LookupRequest) (LookupResult, error)
	DeleteKey(ctx context.Context, ch Channel, billingKey string) error
}

// KeyInConnector is implemented by connectors that can issue keys from card data.
type KeyInConnector interface {
	IssueKeyIn(ctx context.Context, ch Channel, req KeyInRequest) (IssueResult, error)
}

// KeyInRequest carries raw card data; it never reaches storage or logs.
type KeyInRequest struct {
	CustomerUID string
	CardNumber  string
	Expiry      string // YYYY-MM
	Birth       string
	Pwd2Digit   string
	CVC         string
}

// ErrLookupUnsupported: the PG offers no way to look this charge up.
var ErrLookupUnsupported = errors.New("pg: lookup not supported for this charge")

// Error is a PG failure that is not a plain business refusal.
type Error struct {
	Provider string
	Code     string // PG's code, e.g. "-723", "HTTP_500", "TIMEOUT"
	Message  string
	// Unknown is true when the request may have reached the PG and its outcome is
	// not known (timeouts, connection reset after sending, 5xx). False means the
	// PG certainly did nothing (validation refusal, connection refused).
	Unknown bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: [%s] %s", e.Provider, e.Code, e.Message)
}

// IsUnknown reports whether err leaves the outcome of a PG call unknown.
// Context deadlines and unclassified errors count as unknown: the safe side.
func IsUnknown(err error) bool {
	if err == nil {
		return false
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Unknown
	}
	return true
}

// Registry maps provider names to connectors.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Connector
}

func NewRegistry(cs ...Connector) *Registry {
	r := &Registry{m: map[string]Connector{}}
	for _, c := range cs {
		r.Register(c)
	}
	return r
}

func (r *Registry) Register(c Connector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[c.Provider()] = c
}

func (r *Registry) Get(provider string) (Connector, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.m[provider]
	return c, ok
}

func (r *Registry) Providers() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
