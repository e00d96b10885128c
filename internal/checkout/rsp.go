package checkout

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"billkey/internal/billing"
	"billkey/internal/store"
)

// Error codes billkey puts in rsp.error_code (i'mport publishes no catalogue).
const (
	CodeInvalid   = "F400"  // refused before any window opened (bad params, paid merchant_uid, unknown merchant or channel)
	CodeCancelled = "F0005" // the buyer cancelled or closed the window
	CodeError     = "F500"  // billkey or the PG failed without a PG code
)

// Rsp is the IMP.request_pay callback argument (spec §6.4), also used for the
// m_redirect_url query (§6.5).
type Rsp struct {
	Success       bool    `json:"success"`
	ImpSuccess    bool    `json:"imp_success"`
	ImpUID        *string `json:"imp_uid"`
	MerchantUID   string  `json:"merchant_uid"`
	PayMethod     *string `json:"pay_method"`
	PaidAmount    int64   `json:"paid_amount"`
	Status        *string `json:"status"`
	Name          *string `json:"name"`
	PGProvider    *string `json:"pg_provider"`
	EmbPGProvider *string `json:"emb_pg_provider"`
	PGTID         *string `json:"pg_tid"`
	PGType        string  `json:"pg_type"`
	BuyerName     *string `json:"buyer_name"`
	BuyerEmail    *string `json:"buyer_email"`
	BuyerTel      *string `json:"buyer_tel"`
	BuyerAddr     *string `json:"buyer_addr"`
	BuyerPostcode *string `json:"buyer_postcode"`
	CustomData    *string `json:"custom_data"`
	PaidAt        int64   `json:"paid_at"`
	ReceiptURL    *string `json:"receipt_url"`
	ApplyNum      *string `json:"apply_num"`
	CardName      *string `json:"card_name"`
	CardNumber    *string `json:"card_number"`
	CardQuota     int64   `json:"card_quota"`
	Currency      string  `json:"currency"`
	BankName      *string `json:"bank_name"`
	CustomerUID   *string `json:"customer_uid"`
	ErrorCode     *string `json:"error_code"`
	ErrorMsg      *string `json:"error_msg"`
	RequestID     string  `json:"request_id,omitempty"`
}

func sp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// issued reports whether the window ended with a billing key stored: a
// paid issuance (Kakao Pay with an amount) or a settled ready one (no charge).
func issued(p store.Payment) bool {
	if p.CustomerUIDUsage != billing.UsageIssue {
		return false
	}
	switch p.Status {
	case "paid", "cancelled":
		return true
	case "ready":
		return p.WindowState == "" && p.PGState == store.PGStateNone && p.FailedAt == 0
	}
	return false
}

// splitReason splits "[code] message" (billing's fail_reason format).
func splitReason(s string) (code, msg string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "] "); i > 1 {
			return s[1:i], s[i+2:]
		}
	}
	return "", s
}

// paymentRsp builds the rsp of a window from its payment record.
func paymentRsp(p store.Payment) Rsp {
	r := Rsp{
		ImpUID: sp(p.ImpUID), MerchantUID: p.MerchantUID, PayMethod: sp(p.PayMethod), Status: sp(p.Status), Name: sp(p.Name),
		PGProvider: sp(p.PGProvider), PGTID: sp(p.PGTID), PGType: "payment", BuyerName: sp(p.BuyerName),
		BuyerEmail: sp(p.BuyerEmail), BuyerTel: sp(p.BuyerTel), BuyerAddr: sp(p.BuyerAddr), BuyerPostcode: sp(p.BuyerPostcode),
		CustomData: sp(p.CustomData), PaidAt: p.PaidAt, ReceiptURL: sp(p.ReceiptURL), ApplyNum: sp(p.ApplyNum),
		CardName: sp(p.CardName), CardNumber: sp(p.CardNumber), CardQuota: p.CardQuota, Currency: p.Currency,
		CustomerUID: sp(p.CustomerUID),
	}
	if r.Currency == "" {
		r.Currency = "KRW"
	}
	if p.Status == "paid" || p.Status == "cancelled" {
		r.PaidAmount = p.Amount
	}
	if issued(p) {
		r.Success, r.ImpSuccess = true, true
		return r
	}
	code, msg := splitReason(p.FailReason)
	switch {
	case p.FailReason == billing.MsgWindowCancelled || strings.Contains(p.FailReason, "사용자가 결제를 취소"):
		if code == "" {
			code = CodeCancelled
		}
	case p.Status == "ready":
		code, msg = CodeError, "결제 결과를 확인하고 있습니다. 잠시 후 결제내역을 조회해주세요. (the outcome is not known yet)"
	case code == "":
		code = CodeError
	}
	if msg == "" {
		msg = "결제에 실패하였습니다. (payment failed)"
	}
	r.ErrorCode, r.ErrorMsg = &code, &msg
	return r
}

// errorRsp is the rsp of a request refused before (or while) opening the
// window. p is the payment if one was recorded.
func errorRsp(merchantUID string, p *store.Payment, err error) Rsp {
	code, msg := CodeInvalid, err.Error()
	var be *billing.Error
	if asBillingError(err, &be) {
		msg = be.Message
		if be.Kind == billing.KindPG {
			code = CodeError
		}
	} else if _, ok := err.(*paramError); !ok {
		code, msg = CodeError, "결제창을 열 수 없습니다. 잠시 후 다시 시도해주세요. (internal error)"
	}
	if p != nil && p.ImpUID != "" {
		r := paymentRsp(*p)
		r.Success, r.ImpSuccess = false, false
		r.ErrorCode, r.ErrorMsg = &code, &msg
		return r
	}
	return Rsp{MerchantUID: merchantUID, PGType: "payment", Currency: "KRW", ErrorCode: &code, ErrorMsg: &msg}
}

// redirectTo appends the §6.5 query to m_redirect_url.
func redirectTo(mRedirect string, r Rsp) string {
	u, err := url.Parse(mRedirect)
	if err != nil {
		return mRedirect
	}
	q := u.Query()
	if r.ImpUID != nil {
		q.Set("imp_uid", *r.ImpUID)
	}
	q.Set("merchant_uid", r.MerchantUID)
	q.Set("imp_success", strconv.FormatBool(r.ImpSuccess))
	if !r.ImpSuccess {
		if r.ErrorCode != nil {
			q.Set("error_code", *r.ErrorCode)
		}
		if r.ErrorMsg != nil {
			q.Set("error_msg", *r.ErrorMsg)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
