package kakaopay

import (
	"encoding/json"
	"strings"
)

// billingKey is what billkey stores as the BillingKey for Kakao Pay: the sid
// plus what later charges need (the partner_user_id bound to it, -753) and the
// buyer's chosen method (card/point). The string is secret; never log it.
type billingKey struct {
	V      int    `json:"v"`
	SID    string `json:"sid"`
	UserID string `json:"uid"`
	Method string `json:"m"` // CARD or MONEY
}

const keyVersion = 1

func packKey(k billingKey) string {
	k.V = keyVersion
	b, _ := json.Marshal(k) // cannot fail: strings and an int
	return string(b)
}

func unpackKey(s string) (billingKey, bool) {
	var k billingKey
	if !strings.HasPrefix(strings.TrimSpace(s), "{") || json.Unmarshal([]byte(s), &k) != nil {
		return billingKey{}, false
	}
	return k, k.SID != "" && k.UserID != ""
}

// payMethod maps Kakao's payment_method_type to i'mport's pay_method.
func payMethod(kakao string) string {
	if strings.EqualFold(kakao, "MONEY") {
		return "point"
	}
	return "card"
}
