package iamport

import "billkey/internal/store"

// The i'mport objects. Every documented key is always present: null for an
// absent string, 0 for an unset timestamp, [] for an empty list (spec §1.5, §10).

// PaymentObj is the i'mport Payment object (PaymentAnnotation).
type PaymentObj struct {
	Amount            int64       `json:"amount"`
	ApplyNum          *string     `json:"apply_num"`
	BankCode          *string     `json:"bank_code"`
	BankName          *string     `json:"bank_name"`
	BuyerAddr         *string     `json:"buyer_addr"`
	BuyerEmail        *string     `json:"buyer_email"`
	BuyerName         *string     `json:"buyer_name"`
	BuyerPostcode     *string     `json:"buyer_postcode"`
	BuyerTel          *string     `json:"buyer_tel"`
	CancelAmount      int64       `json:"cancel_amount"`
	CancelHistory     []CancelObj `json:"cancel_history"`
	CancelReason      *string     `json:"cancel_reason"`
	CancelReceiptURLs []string    `json:"cancel_receipt_urls"`
	CancelledAt       int64       `json:"cancelled_at"`
	CardCode          *string     `json:"card_code"`
	CardName          *string     `json:"card_name"`
	CardNumber        *string     `json:"card_number"`
	CardQuota         int64       `json:"card_quota"`
	CardType          *int64      `json:"card_type"`
	CardIssuerCode    *string     `json:"card_issuer_code"`
	CardIssuerName    *string     `json:"card_issuer_name"`
	CardPublisherCode *string     `json:"card_publisher_code"`
	CardPublisherName *string     `json:"card_publisher_name"`
	CashReceiptIssued bool        `json:"cash_receipt_issued"`
	Channel           string      `json:"channel"`
	Currency          string      `json:"currency"`
	CustomData        *string     `json:"custom_data"`
	CustomerUID       *string     `json:"customer_uid"`
	CustomerUIDUsage  *string     `json:"customer_uid_usage"`
	DepositHistory    []any       `json:"deposit_history"`
	EmbPGProvider     *string     `json:"emb_pg_provider"`
	Escrow            bool        `json:"escrow"`
	FailReason        *string     `json:"fail_reason"`
	FailedAt          int64       `json:"failed_at"`
	ImpUID            string      `json:"imp_uid"`
	MerchantUID       string      `json:"merchant_uid"`
	Name              *string     `json:"name"`
	PaidAt            int64       `json:"paid_at"`
	PayMethod         string      `json:"pay_method"`
	PGID              string      `json:"pg_id"`
	PGProvider        string      `json:"pg_provider"`
	PGTID             *string     `json:"pg_tid"`
	Promotion         any         `json:"promotion"`
	ReceiptURL        *string     `json:"receipt_url"`
	Sandbox           bool        `json:"sandbox"`
	StartedAt         int64       `json:"started_at"`
	Status            string      `json:"status"`
	UserAgent         *string     `json:"user_agent"`
	VbankCode         *string     `json:"vbank_code"`
	VbankDate         int64       `json:"vbank_date"`
	VbankHolder       *string     `json:"vbank_holder"`
	VbankIssuedAt     int64       `json:"vbank_issued_at"`
	VbankName         *string     `json:"vbank_name"`
	VbankNum          *string     `json:"vbank_num"`
}

// CancelObj is an entry of cancel_history.
type CancelObj struct {
	PGTID          string  `json:"pg_tid"`
	Amount         int64   `json:"amount"`
	CancelledAt    int64   `json:"cancelled_at"`
	Reason         string  `json:"reason"`
	CancellationID string  `json:"cancellation_id"`
	ReceiptURL     *string `json:"receipt_url"`
}

func sp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// PaymentJSON is the i'mport Payment object of p.
func PaymentJSON(p store.Payment) PaymentObj {
	o := PaymentObj{
		Amount: p.Amount, ApplyNum: sp(p.ApplyNum), BuyerAddr: sp(p.BuyerAddr), BuyerEmail: sp(p.BuyerEmail),
		BuyerName: sp(p.BuyerName), BuyerPostcode: sp(p.BuyerPostcode), BuyerTel: sp(p.BuyerTel), CancelAmount: p.CancelAmount,
		CancelHistory: []CancelObj{}, CancelReason: sp(p.CancelReason), CancelReceiptURLs: []string{}, CancelledAt: p.CancelledAt,
		CardCode: sp(p.CardCode), CardName: sp(p.CardName), CardNumber: sp(p.CardNumber), CardQuota: p.CardQuota,
		CardType: p.CardType, Channel: p.Channel, Currency: p.Currency, CustomData: sp(p.CustomData),
		CustomerUID: sp(p.CustomerUID), CustomerUIDUsage: sp(p.CustomerUIDUsage), DepositHistory: []any{},
		FailReason: sp(p.FailReason), FailedAt: p.FailedAt, ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, Name: sp(p.Name),
		PaidAt: p.PaidAt, PayMethod: p.PayMethod, PGID: p.PGID, PGProvider: p.PGProvider, PGTID: sp(p.PGTID),
		ReceiptURL: sp(p.ReceiptURL), Sandbox: p.Sandbox, StartedAt: p.StartedAt, Status: p.Status, UserAgent: sp(p.UserAgent),
	}
	for _, c := range p.Cancels {
		o.CancelHistory = append(o.CancelHistory, CancelObj{PGTID: c.PGTID, Amount: c.Amount, CancelledAt: c.CancelledAt,
			Reason: c.Reason, CancellationID: c.CancellationID, ReceiptURL: sp(c.ReceiptURL)})
		if c.ReceiptURL != "" {
			o.CancelReceiptURLs = append(o.CancelReceiptURLs, c.ReceiptURL)
		}
	}
	return o
}

// CustomerObj is the i'mport Customer object (CustomerAnnotation).
type CustomerObj struct {
	CustomerUID       string  `json:"customer_uid"`
	PGProvider        string  `json:"pg_provider"`
	PGID              string  `json:"pg_id"`
	Sandbox           bool    `json:"sandbox"`
	CustomerID        *string `json:"customer_id"`
	CardName          string  `json:"card_name"`
	CardCode          *string `json:"card_code"`
	CardNumber        *string `json:"card_number"`
	CardType          *int64  `json:"card_type"`
	CardIssuerCode    *string `json:"card_issuer_code"`
	CardIssuerName    *string `json:"card_issuer_name"`
	CardPublisherCode *string `json:"card_publisher_code"`
	CardPublisherName *string `json:"card_publisher_name"`
	CustomerName      *string `json:"customer_name"`
	CustomerTel       *string `json:"customer_tel"`
	CustomerEmail     *string `json:"customer_email"`
	CustomerAddr      *string `json:"customer_addr"`
	CustomerPostcode  *string `json:"customer_postcode"`
	Inserted          int64   `json:"inserted"`
	Updated           int64   `json:"updated"`
}

// CustomerJSON is the i'mport Customer object of c.
func CustomerJSON(c store.Customer) CustomerObj {
	name := c.CardName
	if name == "" && c.PayMethod == "point" {
		name = "카카오머니"
	}
	return CustomerObj{CustomerUID: c.CustomerUID, PGProvider: c.PGProvider, PGID: c.PGID, Sandbox: c.Sandbox,
		CustomerID: sp(c.CustomerID), CardName: name, CardCode: sp(c.CardCode), CardNumber: sp(c.CardNumber), CardType: c.CardType,
		CustomerName: sp(c.CustomerName), CustomerTel: sp(c.CustomerTel), CustomerEmail: sp(c.CustomerEmail),
		CustomerAddr: sp(c.CustomerAddr), CustomerPostcode: sp(c.CustomerPostcode), Inserted: c.Inserted, Updated: c.Updated}
}

// Paged is the i'mport paged list.
type Paged[T any] struct {
	Total    int64 `json:"total"`
	Previous int   `json:"previous"`
	Next     int   `json:"next"`
	List     []T   `json:"list"`
}

// NewPaged builds the paged list {total, previous, next, list}.
func NewPaged[T any](list []T, total int64, page, limit int) Paged[T] {
	if list == nil {
		list = []T{}
	}
	p := Paged[T]{Total: total, List: list}
	if page > 1 {
		p.Previous = page - 1
	}
	if int64(page*limit) < total {
		p.Next = page + 1
	}
	return p
}

type prepareObj struct {
	MerchantUID string `json:"merchant_uid"`
	Amount      int64  `json:"amount"`
}
