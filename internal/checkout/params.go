package checkout

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"billkey/internal/billing"
)

// paramError is a request_pay parameter billkey cannot use.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func asBillingError(err error, out **billing.Error) bool { return errors.As(err, out) }

// payParams are IMP.request_pay's params as the SDK sends them.
type payParams map[string]any

func (p payParams) str(k string) string {
	switch v := p[k].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		if len(v) > 0 {
			return payParams{"x": v[0]}.str("x")
		}
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// int64 reads a KRW amount: a number (or numeric string), integral, >= 0.
func (p payParams) int64(k string) (int64, error) {
	var s string
	switch v := p[k].(type) {
	case nil:
		return 0, nil
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return 0, nil
		}
	default:
		return 0, &paramError{fmt.Sprintf("%s는 숫자여야 합니다. (%s must be a number)", k, k)}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < 0 || f > 1e15 {
		return 0, &paramError{fmt.Sprintf("%s는 0 이상의 정수여야 합니다. (%s must be a non-negative integer: %q)", k, k, s)}
	}
	return int64(f), nil
}

func (p payParams) bool(k string) bool {
	switch v := p[k].(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "1"
	}
	return false
}

// windowInput maps request_pay params to a billing window request.
func windowInput(p payParams, ua string, mobile bool) (billing.WindowInput, error) {
	amount, err := p.int64("amount")
	if err != nil {
		return billing.WindowInput{}, err
	}
	taxFree, err := p.int64("tax_free")
	if err != nil {
		return billing.WindowInput{}, err
	}
	if cur := strings.ToUpper(p.str("currency")); cur != "" && cur != "KRW" {
		return billing.WindowInput{}, &paramError{fmt.Sprintf("지원하지 않는 통화입니다: %s (only KRW)", cur)}
	}
	customData := ""
	switch v := p["custom_data"].(type) {
	case nil:
	case string:
		customData = v
	default:
		customData = string(mustJSON(v))
	}
	return billing.WindowInput{
		PG: p.str("pg"), PayMethod: p.str("pay_method"), MerchantUID: p.str("merchant_uid"), Name: p.str("name"),
		Amount: amount, TaxFree: taxFree, CustomerUID: p.str("customer_uid"), CustomerID: p.str("customer_id"),
		BuyerName: p.str("buyer_name"), BuyerEmail: p.str("buyer_email"), BuyerTel: p.str("buyer_tel"),
		BuyerAddr: p.str("buyer_addr"), BuyerPostcode: p.str("buyer_postcode"), CustomData: customData,
		NoticeURL: p.str("notice_url"), Mobile: mobile, UserAgent: ua,
	}, nil
}

var mobileUA = regexp.MustCompile(`(?i)Mobi|Android|iPhone|iPad|iPod|Windows Phone|KAKAOTALK`)

// isMobileUA reports whether a user agent is a phone or tablet browser.
func isMobileUA(ua string) bool { return mobileUA.MatchString(ua) }

// checkOrigin accepts a browser origin: http(s)://host[:port], nothing else.
func checkOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(u.Host, " ;,'\"") {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// checkRedirect accepts an absolute http(s) m_redirect_url.
func checkRedirect(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2000
}

var reqIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
