package kakaopay

import (
	"strings"
	"time"
)

// Wire types of the Kakao Pay Online Payment API (new API, JSON bodies). Only
// the fields billkey sends or reads; unknown response fields are ignored.

type readyReq struct {
	CID            string `json:"cid"`
	CIDSecret      string `json:"cid_secret,omitempty"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	ItemName       string `json:"item_name"`
	Quantity       int64  `json:"quantity"`
	TotalAmount    int64  `json:"total_amount"`
	TaxFreeAmount  int64  `json:"tax_free_amount"`
	ApprovalURL    string `json:"approval_url"`
	CancelURL      string `json:"cancel_url"`
	FailURL        string `json:"fail_url"`
}

type readyResp struct {
	TID                   string `json:"tid"`
	NextRedirectAppURL    string `json:"next_redirect_app_url"`
	NextRedirectMobileURL string `json:"next_redirect_mobile_url"`
	NextRedirectPCURL     string `json:"next_redirect_pc_url"`
	CreatedAt             string `json:"created_at"`
}

type approveReq struct {
	CID            string `json:"cid"`
	CIDSecret      string `json:"cid_secret,omitempty"`
	TID            string `json:"tid"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	PgToken        string `json:"pg_token"`
	TotalAmount    *int64 `json:"total_amount,omitempty"`
}

type subscriptionReq struct {
	CID            string `json:"cid"`
	CIDSecret      string `json:"cid_secret,omitempty"`
	SID            string `json:"sid"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	ItemName       string `json:"item_name"`
	Quantity       int64  `json:"quantity"`
	TotalAmount    int64  `json:"total_amount"`
	TaxFreeAmount  int64  `json:"tax_free_amount"`
	VatAmount      *int64 `json:"vat_amount,omitempty"`
}

type cancelReq struct {
	CID                   string `json:"cid"`
	CIDSecret             string `json:"cid_secret,omitempty"`
	TID                   string `json:"tid"`
	CancelAmount          int64  `json:"cancel_amount"`
	CancelTaxFreeAmount   int64  `json:"cancel_tax_free_amount"`
	CancelVatAmount       *int64 `json:"cancel_vat_amount,omitempty"`
	CancelAvailableAmount *int64 `json:"cancel_available_amount,omitempty"`
}

type tidReq struct {
	CID       string `json:"cid"`
	CIDSecret string `json:"cid_secret,omitempty"`
	TID       string `json:"tid"`
}

type sidReq struct {
	CID       string `json:"cid"`
	CIDSecret string `json:"cid_secret,omitempty"`
	SID       string `json:"sid"`
}

type amountObj struct {
	Total    int64 `json:"total"`
	TaxFree  int64 `json:"tax_free"`
	Vat      int64 `json:"vat"`
	Point    int64 `json:"point"`
	Discount int64 `json:"discount"`
}

type cardInfo struct {
	KakaopayPurchaseCorp   string `json:"kakaopay_purchase_corp"`
	KakaopayIssuerCorp     string `json:"kakaopay_issuer_corp"`
	KakaopayIssuerCorpCode string `json:"kakaopay_issuer_corp_code"`
	IssuerCorp             string `json:"issuer_corp"`
	Bin                    string `json:"bin"`
	CardType               string `json:"card_type"`
	InstallMonth           string `json:"install_month"`
	ApprovedID             string `json:"approved_id"`
}

// approveResp is the answer of approve and of subscription.
type approveResp struct {
	AID               string    `json:"aid"`
	TID               string    `json:"tid"`
	CID               string    `json:"cid"`
	SID               string    `json:"sid"`
	PartnerOrderID    string    `json:"partner_order_id"`
	PartnerUserID     string    `json:"partner_user_id"`
	PaymentMethodType string    `json:"payment_method_type"`
	Amount            amountObj `json:"amount"`
	CardInfo          *cardInfo `json:"card_info"`
	ItemName          string    `json:"item_name"`
	CreatedAt         string    `json:"created_at"`
	ApprovedAt        string    `json:"approved_at"`
}

type cancelResp struct {
	AID        string `json:"aid"`
	TID        string `json:"tid"`
	Status     string `json:"status"`
	CanceledAt string `json:"canceled_at"`
}

type selectedCardInfo struct {
	CardBin      string `json:"card_bin"`
	CardCorpName string `json:"card_corp_name"`
}

type actionDetail struct {
	AID               string `json:"aid"`
	ApprovedAt        string `json:"approved_at"`
	Amount            int64  `json:"amount"`
	PaymentActionType string `json:"payment_action_type"`
}

type orderResp struct {
	TID                  string            `json:"tid"`
	CID                  string            `json:"cid"`
	Status               string            `json:"status"`
	PartnerOrderID       string            `json:"partner_order_id"`
	PartnerUserID        string            `json:"partner_user_id"`
	PaymentMethodType    string            `json:"payment_method_type"`
	Amount               amountObj         `json:"amount"`
	ApprovedAt           string            `json:"approved_at"`
	SelectedCardInfo     *selectedCardInfo `json:"selected_card_info"`
	PaymentActionDetails []actionDetail    `json:"payment_action_details"`
}

type inactiveResp struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// errorBody is Kakao's new-API error envelope.
type errorBody struct {
	ErrorCode    *int   `json:"error_code"`
	ErrorMessage string `json:"error_message"`
	Extras       struct {
		MethodResultCode    string `json:"method_result_code"`
		MethodResultMessage string `json:"method_result_message"`
	} `json:"extras"`
}

// message is error_message plus the card/money reason from extras, if any.
func (b *errorBody) message() string {
	msg := b.ErrorMessage
	x := b.Extras
	if x.MethodResultCode != "" || x.MethodResultMessage != "" {
		detail := strings.TrimSpace(x.MethodResultMessage)
		if x.MethodResultCode != "" {
			detail = strings.TrimSpace(x.MethodResultCode + " " + detail)
		}
		msg = strings.TrimSpace(msg + " (" + detail + ")")
	}
	return msg
}

// kst is Kakao Pay's time zone: timestamps are local KST without an offset.
var kst = time.FixedZone("KST", 9*60*60)

// parseTime reads "2006-01-02T15:04:05" in KST; zero time when empty or bad.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, kst); err == nil {
			return t
		}
	}
	return time.Time{}
}
