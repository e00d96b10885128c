package store

import "database/sql"

// Merchant is one merchant account (i'mport "user code" imp########).
type Merchant struct {
	ID                 int64
	Code               string
	Name               string
	WebhookURL         string
	WebhookContentType string // "json" or "form"
	CreatedAt          int64
}

// APIKey is one REST API key/secret pair; the secret is stored hashed.
type APIKey struct {
	ID         int64
	MerchantID int64
	ImpKey     string
	SecretHash string
	CreatedAt  int64
	ExpiresAt  int64 // 0: no expiry
	TokenSeq   int64
}

// Token is an issued access token (stored by hash).
type Token struct {
	ID         int64
	APIKeyID   int64
	MerchantID int64
	TokenHash  string
	IssuedAt   int64
	ExpiresAt  int64
}

// Channel is a merchant's PG channel.
type Channel struct {
	ID             int64
	MerchantID     int64
	Provider       string
	MID            string
	Live           bool
	IsDefault      bool
	BaseURL        string
	CredentialsEnc []byte
	CreatedAt      int64
}

// Customer is a stored billing key (i'mport CustomerAnnotation) with its
// encrypted PG reference.
type Customer struct {
	ID               int64
	MerchantID       int64
	CustomerUID      string
	ChannelID        int64
	PGProvider       string
	PGID             string
	Sandbox          bool
	BillingKeyEnc    []byte
	PayMethod        string
	CardName         string
	CardCode         string
	CardNumber       string
	CardType         *int64
	CustomerID       string
	CustomerName     string
	CustomerTel      string
	CustomerEmail    string
	CustomerAddr     string
	CustomerPostcode string
	Inserted         int64
	Updated          int64
}

// Payment states billkey keeps beside the i'mport status.
const (
	PGStateNone     = ""         // settled (or never sent to a PG)
	PGStateInflight = "inflight" // committed before the PG call; outcome not yet recorded
	PGStateUnknown  = "unknown"  // reconciliation could not learn the outcome; needs an operator
)

// Payment is one payment record (i'mport PaymentAnnotation).
type Payment struct {
	ID               int64
	MerchantID       int64
	ImpUID           string
	MerchantUID      string
	Status           string
	PGState          string
	InflightUntil    int64
	Amount           int64
	CancelAmount     int64
	TaxFree          int64
	Currency         string
	PayMethod        string
	Channel          string
	ChannelID        int64
	PGProvider       string
	PGID             string
	PGTID            string
	Sandbox          bool
	CustomerUID      string
	CustomerUIDUsage string
	Name             string
	BuyerName        string
	BuyerEmail       string
	BuyerTel         string
	BuyerAddr        string
	BuyerPostcode    string
	CustomData       string
	UserAgent        string
	CardName         string
	CardCode         string
	CardNumber       string
	CardType         *int64
	CardQuota        int64
	ApplyNum         string
	ReceiptURL       string
	FailReason       string
	CancelReason     string
	NoticeURL        string
	WindowState      string
	StartedAt        int64
	PaidAt           int64
	FailedAt         int64
	CancelledAt      int64
	UpdatedAt        int64

	Cancels []Cancel // filled by the payment readers
}

// Cancel is one entry of a payment's cancel_history.
type Cancel struct {
	ID             int64
	PaymentID      int64
	PGTID          string
	Amount         int64
	Reason         string
	CancelledAt    int64
	CancellationID string
	ReceiptURL     string
}

// Prepare is a pre-registered amount for a merchant_uid (/payments/prepare).
type Prepare struct {
	MerchantUID string
	Amount      int64
	CreatedAt   int64
	UpdatedAt   int64
}

// nz maps "" to SQL NULL for nullable text columns.
func nz(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nint(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

type nullStr struct{ p *string }

func (n nullStr) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*n.p = ns.String
	return nil
}

type nullInt struct{ p **int64 }

func (n nullInt) Scan(v any) error {
	var ni sql.NullInt64
	if err := ni.Scan(v); err != nil {
		return err
	}
	if ni.Valid {
		x := ni.Int64
		*n.p = &x
	} else {
		*n.p = nil
	}
	return nil
}

type boolInt struct{ p *bool }

func (b boolInt) Scan(v any) error {
	var ni sql.NullInt64
	if err := ni.Scan(v); err != nil {
		return err
	}
	*b.p = ni.Int64 != 0
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
