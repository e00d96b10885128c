// Package payco is billkey's connector for NHN PAYCO automatic payment
// (자동결제), speaking PAYCO's merchant "outseller" API
// (/work/shared/spec/payco.md §1.5): autoPayment reserve → order sheet →
// returnUrl → autoPayment info, then autoPayment payment charges, order
// cancel refunds and autoPayment delete. The same code talks to the real
// service (ch.BaseURL https://api-bill.payco.com) and to billkey's emulator
// (internal/pgsim/payco); only the base URL differs.
package payco

import (
	"net/http"
	"time"

	"billkey/internal/pg"
)

const provider = "payco"

// PAYCO recommends 30 s connect/read timeouts (payco.md §1.1).
const defaultTimeout = 30 * time.Second

// Connector implements pg.Connector for PAYCO. It is stateless.
type Connector struct {
	http *http.Client
}

var _ pg.Connector = (*Connector)(nil)

// New returns a PAYCO connector using httpClient (nil: a client with PAYCO's
// recommended 30 s timeout).
func New(httpClient *http.Client) *Connector {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	return &Connector{http: httpClient}
}

func (c *Connector) Provider() string { return provider }

// SupportsKeyIn is false: PAYCO issues keys only through its window
// ("페이코는 API 비인증 결제를 지원하지 않습니다").
func (c *Connector) SupportsKeyIn() bool { return false }

// creds are the merchant values PAYCO identifies a merchant by.
type creds struct {
	sellerKey string
	cpID      string
	productID string
}

// channelCreds reads ch.Credentials ("seller_key", "cp_id", "product_id"; the
// PAYCO spellings "sellerKey", "cpId", "productId" are accepted too). The
// seller key falls back to ch.MID.
func channelCreds(ch pg.Channel) (creds, error) {
	get := func(names ...string) string {
		for _, n := range names {
			if v := ch.Credentials[n]; v != "" {
				return v
			}
		}
		return ""
	}
	c := creds{
		sellerKey: get("seller_key", "sellerKey"),
		cpID:      get("cp_id", "cpId"),
		productID: get("product_id", "productId"),
	}
	if c.sellerKey == "" {
		c.sellerKey = ch.MID
	}
	if c.sellerKey == "" {
		return c, &pg.Error{Provider: provider, Code: "CONFIG", Message: "PAYCO seller_key (or MID) is not configured"}
	}
	return c, nil
}
