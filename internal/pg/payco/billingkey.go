package payco

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"billkey/internal/pg"
)

// A billing key packs the three values PAYCO needs to charge and delete a
// registration: autoPaymentNo + autoPaymentCertifyKey (payment) and
// sellerAutoPaymentReferenceKey + autoPaymentCertifyKey (delete).
// Format: "payco1." + base64url(JSON). Opaque to billkey; never logged.
const keyPrefix = "payco1."

type billingKey struct {
	AutoPaymentNo string `json:"n"`
	CertifyKey    string `json:"k"`
	RefKey        string `json:"r"`
}

func (k billingKey) pack() string {
	b, _ := json.Marshal(k) // three strings: cannot fail
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func unpackKey(s string) (billingKey, error) {
	var k billingKey
	bad := &pg.Error{Provider: provider, Code: "BAD_BILLING_KEY", Message: "not a PAYCO billing key"}
	rest, ok := strings.CutPrefix(s, keyPrefix)
	if !ok {
		return k, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || json.Unmarshal(b, &k) != nil || k.AutoPaymentNo == "" || k.CertifyKey == "" {
		return k, bad
	}
	return k, nil
}
