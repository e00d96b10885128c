package kakaopay

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"time"
)

// kst is Kakao Pay's time zone; its timestamps are local KST without an offset.
var kst = time.FixedZone("KST", 9*60*60)

const kakaoTime = "2006-01-02T15:04:05"

func fmtTime(unix int64) string { return time.Unix(unix, 0).In(kst).Format(kakaoTime) }

// optTime is a timestamp that is null when unset (0).
func optTime(unix int64) *string {
	if unix == 0 {
		return nil
	}
	s := fmtTime(unix)
	return &s
}

// ---- requests (new API, JSON) ----

type readyReq struct {
	CID               string `json:"cid"`
	CIDSecret         string `json:"cid_secret"`
	PartnerOrderID    string `json:"partner_order_id"`
	PartnerUserID     string `json:"partner_user_id"`
	ItemName          string `json:"item_name"`
	ItemCode          string `json:"item_code"`
	Quantity          *int64 `json:"quantity"`
	TotalAmount       *int64 `json:"total_amount"`
	TaxFreeAmount     *int64 `json:"tax_free_amount"`
	VatAmount         *int64 `json:"vat_amount"`
	ApprovalURL       string `json:"approval_url"`
	CancelURL         string `json:"cancel_url"`
	FailURL           string `json:"fail_url"`
	PaymentMethodType string `json:"payment_method_type"`
	InstallMonth      *int64 `json:"install_month"`
}

type approveReq struct {
	CID            string `json:"cid"`
	CIDSecret      string `json:"cid_secret"`
	TID            string `json:"tid"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	PgToken        string `json:"pg_token"`
	Payload        string `json:"payload"`
	TotalAmount    *int64 `json:"total_amount"`
}

type subscriptionReq struct {
	CID            string `json:"cid"`
	CIDSecret      string `json:"cid_secret"`
	SID            string `json:"sid"`
	PartnerOrderID string `json:"partner_order_id"`
	PartnerUserID  string `json:"partner_user_id"`
	ItemName       string `json:"item_name"`
	ItemCode       string `json:"item_code"`
	Quantity       *int64 `json:"quantity"`
	TotalAmount    *int64 `json:"total_amount"`
	TaxFreeAmount  *int64 `json:"tax_free_amount"`
	VatAmount      *int64 `json:"vat_amount"`
	Payload        string `json:"payload"`
}

type cancelReq struct {
	CID                   string `json:"cid"`
	CIDSecret             string `json:"cid_secret"`
	TID                   string `json:"tid"`
	CancelAmount          *int64 `json:"cancel_amount"`
	CancelTaxFreeAmount   *int64 `json:"cancel_tax_free_amount"`
	CancelVatAmount       *int64 `json:"cancel_vat_amount"`
	CancelAvailableAmount *int64 `json:"cancel_available_amount"`
	Payload               string `json:"payload"`
}

type tidReq struct {
	CID       string `json:"cid"`
	CIDSecret string `json:"cid_secret"`
	TID       string `json:"tid"`
}

type sidReq struct {
	CID       string `json:"cid"`
	CIDSecret string `json:"cid_secret"`
	SID       string `json:"sid"`
}

// ---- responses ----

type readyResp struct {
	TID                   string `json:"tid"`
	NextRedirectAppURL    string `json:"next_redirect_app_url"`
	NextRedirectMobileURL string `json:"next_redirect_mobile_url"`
	NextRedirectPCURL     string `json:"next_redirect_pc_url"`
	AndroidAppScheme      string `json:"android_app_scheme"`
	IOSAppScheme          string `json:"ios_app_scheme"`
	CreatedAt             string `json:"created_at"`
	TmsResult             bool   `json:"tms_result"`
}

type amountObj struct {
	Total        int64 `json:"total"`
	TaxFree      int64 `json:"tax_free"`
	Vat          int64 `json:"vat"`
	Point        int64 `json:"point"`
	Discount     int64 `json:"discount"`
	GreenDeposit int64 `json:"green_deposit"`
}

type cardInfo struct {
	KakaopayPurchaseCorp     string `json:"kakaopay_purchase_corp"`
	KakaopayPurchaseCorpCode string `json:"kakaopay_purchase_corp_code"`
	KakaopayIssuerCorp       string `json:"kakaopay_issuer_corp"`
	KakaopayIssuerCorpCode   string `json:"kakaopay_issuer_corp_code"`
	PurchaseCorp             string `json:"purchase_corp"`
	PurchaseCorpCode         string `json:"purchase_corp_code"`
	IssuerCorp               string `json:"issuer_corp"`
	IssuerCorpCode           string `json:"issuer_corp_code"`
	Bin                      string `json:"bin"`
	CardType                 string `json:"card_type"`
	InstallMonth             string `json:"install_month"`
	ApprovedID               string `json:"approved_id"`
	CardMID                  string `json:"card_mid"`
	InterestFreeInstall      string `json:"interest_free_install"`
	InstallmentType          string `json:"installment_type"`
	CardItemCode             string `json:"card_item_code"`
}

// approveResp is the answer of approve and of subscription.
type approveResp struct {
	AID               string    `json:"aid"`
	TID               string    `json:"tid"`
	CID               string    `json:"cid"`
	SID               string    `json:"sid,omitempty"`
	PartnerOrderID    string    `json:"partner_order_id"`
	PartnerUserID     string    `json:"partner_user_id"`
	PaymentMethodType string    `json:"payment_method_type"`
	Amount            amountObj `json:"amount"`
	CardInfo          *cardInfo `json:"card_info,omitempty"`
	ItemName          string    `json:"item_name"`
	ItemCode          string    `json:"item_code"`
	Quantity          int64     `json:"quantity"`
	CreatedAt         string    `json:"created_at"`
	ApprovedAt        string    `json:"approved_at"`
	Payload           string    `json:"payload"`
}

type cancelResp struct {
	AID                   string    `json:"aid"`
	TID                   string    `json:"tid"`
	CID                   string    `json:"cid"`
	Status                string    `json:"status"`
	PartnerOrderID        string    `json:"partner_order_id"`
	PartnerUserID         string    `json:"partner_user_id"`
	PaymentMethodType     string    `json:"payment_method_type"`
	Amount                amountObj `json:"amount"`
	ApprovedCancelAmount  amountObj `json:"approved_cancel_amount"`
	CanceledAmount        amountObj `json:"canceled_amount"`
	CancelAvailableAmount amountObj `json:"cancel_available_amount"`
	ItemName              string    `json:"item_name"`
	ItemCode              string    `json:"item_code"`
	Quantity              int64     `json:"quantity"`
	CreatedAt             string    `json:"created_at"`
	ApprovedAt            *string   `json:"approved_at"`
	CanceledAt            string    `json:"canceled_at"`
	Payload               string    `json:"payload"`
}

type selectedCardInfo struct {
	CardBin             string `json:"card_bin"`
	InstallMonth        int64  `json:"install_month"`
	InstallmentType     string `json:"installment_type"`
	CardCorpName        string `json:"card_corp_name"`
	InterestFreeInstall string `json:"interest_free_install"`
}

type actionDetail struct {
	AID               string `json:"aid"`
	ApprovedAt        string `json:"approved_at"`
	Amount            int64  `json:"amount"`
	PointAmount       int64  `json:"point_amount"`
	DiscountAmount    int64  `json:"discount_amount"`
	GreenDeposit      int64  `json:"green_deposit"`
	PaymentActionType string `json:"payment_action_type"`
	Payload           string `json:"payload"`
}

type orderResp struct {
	TID                   string            `json:"tid"`
	CID                   string            `json:"cid"`
	Status                string            `json:"status"`
	PartnerOrderID        string            `json:"partner_order_id"`
	PartnerUserID         string            `json:"partner_user_id"`
	PaymentMethodType     *string           `json:"payment_method_type"`
	Amount                amountObj         `json:"amount"`
	CanceledAmount        amountObj         `json:"canceled_amount"`
	CancelAvailableAmount amountObj         `json:"cancel_available_amount"`
	ItemName              string            `json:"item_name"`
	ItemCode              string            `json:"item_code"`
	Quantity              int64             `json:"quantity"`
	CreatedAt             string            `json:"created_at"`
	ApprovedAt            *string           `json:"approved_at"`
	CanceledAt            *string           `json:"canceled_at"`
	SelectedCardInfo      *selectedCardInfo `json:"selected_card_info"`
	PaymentActionDetails  []actionDetail    `json:"payment_action_details"`
}

type sidStatusResp struct {
	Available         bool    `json:"available"`
	CID               string  `json:"cid"`
	SID               string  `json:"sid"`
	Status            string  `json:"status"`
	PaymentMethodType string  `json:"payment_method_type"`
	ItemName          string  `json:"item_name"`
	CreatedAt         string  `json:"created_at"`
	LastApprovedAt    *string `json:"last_approved_at"`
	InactivatedAt     *string `json:"inactivated_at"`
	UsePointStatus    string  `json:"use_point_status"`
}

type inactiveResp struct {
	CID            string  `json:"cid"`
	SID            string  `json:"sid"`
	Status         string  `json:"status"`
	CreatedAt      string  `json:"created_at"`
	LastApprovedAt *string `json:"last_approved_at"`
	InactivatedAt  *string `json:"inactivated_at"`
}

type errorBody struct {
	ErrorCode    int               `json:"error_code"`
	ErrorMessage string            `json:"error_message"`
	Extras       map[string]string `json:"extras,omitempty"`
}

// ---- helpers ----

const maxBody = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{ErrorCode: e.code, ErrorMessage: e.msg, Extras: e.extras})
}

func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return fail(codeBadParam, "unreadable request body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fail(codeBadParam, "invalid JSON body: "+err.Error())
	}
	return nil
}

// newID returns prefix + 19 random digits (Kakao TID/SID/AID are 20 chars).
func newID(prefix string) string {
	b := make([]byte, 0, 20)
	b = append(b, prefix...)
	for len(b) < 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b = append(b, byte('0'+n.Int64()))
	}
	return string(b)
}

// newPgToken returns 20 lowercase hex chars, like Kakao's pg_token.
func newPgToken() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// defaultVat is Kakao's default: round((total - taxFree) / 11).
func defaultVat(total, taxFree int64) int64 {
	x := total - taxFree
	if x <= 0 {
		return 0
	}
	return (2*x + 11) / 22
}
