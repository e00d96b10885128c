package payco

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"billkey/internal/pg"
)

// Request and result bodies of the PAYCO endpoints billkey uses
// (payco.md §1.3–§1.5).

type reserveRequest struct {
	SellerKey                     string `json:"sellerKey"`
	CpID                          string `json:"cpId"`
	SellerAutoPaymentReferenceKey string `json:"sellerAutoPaymentReferenceKey"`
	Currency                      string `json:"currency"`
	TotalPaymentAmt               int64  `json:"totalPaymentAmt"`
	ReturnURL                     string `json:"returnUrl"`
	ReturnURLParam                string `json:"returnUrlParam,omitempty"`
	OrderMethod                   string `json:"orderMethod"`
	OrderChannel                  string `json:"orderChannel"`
	InAppYn                       string `json:"inAppYn"`
	OrderTitle                    string `json:"orderTitle,omitempty"`
	ExtraData                     string `json:"extraData,omitempty"`
}

type reserveResult struct {
	ReserveOrderNo string `json:"reserveOrderNo"`
	OrderSheetURL  string `json:"orderSheetUrl"`
}

type keyRequest struct {
	SellerKey                     string `json:"sellerKey"`
	SellerAutoPaymentReferenceKey string `json:"sellerAutoPaymentReferenceKey"`
	AutoPaymentCertifyKey         string `json:"autoPaymentCertifyKey"`
}

type infoResult struct {
	SellerAutoPaymentReferenceKey string `json:"sellerAutoPaymentReferenceKey"`
	AutoPaymentCertifyKey         string `json:"autoPaymentCertifyKey"`
	AutoPaymentNo                 string `json:"autoPaymentNo"`
	PaymentMethodCode             string `json:"paymentMethodCode"`
	PaymentMethodName             string `json:"paymentMethodName"`
	PinNo                         string `json:"pinNo"`
	CorporationCode               string `json:"corporationCode"`
	CorporationName               string `json:"corporationName"`
	RegistYmdt                    string `json:"registYmdt"`
}

type paymentRequest struct {
	SellerKey                   string         `json:"sellerKey"`
	AutoPaymentNo               string         `json:"autoPaymentNo"`
	AutoPaymentCertifyKey       string         `json:"autoPaymentCertifyKey"`
	SellerOrderReferenceKey     string         `json:"sellerOrderReferenceKey"`
	SellerOrderReferenceKeyType string         `json:"sellerOrderReferenceKeyType"`
	Currency                    string         `json:"currency"`
	TotalPaymentAmt             int64          `json:"totalPaymentAmt"`
	TotalTaxfreeAmt             int64          `json:"totalTaxfreeAmt"`
	TotalTaxableAmt             int64          `json:"totalTaxableAmt"`
	TotalVatAmt                 int64          `json:"totalVatAmt"`
	OrderTitle                  string         `json:"orderTitle,omitempty"`
	OrderProducts               []orderProduct `json:"orderProducts,omitempty"`
}

type orderProduct struct {
	CpID                           string `json:"cpId"`
	ProductID                      string `json:"productId"`
	ProductAmt                     int64  `json:"productAmt"`
	ProductPaymentAmt              int64  `json:"productPaymentAmt"`
	OrderQuantity                  int    `json:"orderQuantity"`
	SortOrdering                   int    `json:"sortOrdering"`
	ProductName                    string `json:"productName"`
	SellerOrderProductReferenceKey string `json:"sellerOrderProductReferenceKey"`
	TaxationType                   string `json:"taxationType"`
}

// orderResult is the payment/approval-shaped result of autoPayment/payment
// and getDetailForVerify.
type orderResult struct {
	SellerOrderReferenceKey string          `json:"sellerOrderReferenceKey"`
	OrderNo                 string          `json:"orderNo"`
	OrderCertifyKey         string          `json:"orderCertifyKey"`
	TotalPaymentAmt         number          `json:"totalPaymentAmt"`
	PaymentCompleteYmdt     string          `json:"paymentCompleteYmdt"`
	PaymentDetails          []paymentDetail `json:"paymentDetails"`
}

type paymentDetail struct {
	PaymentTradeNo    string `json:"paymentTradeNo"`
	PaymentMethodCode string `json:"paymentMethodCode"`
	PaymentAmt        number `json:"paymentAmt"`
	PgAdmissionNo     string `json:"pgAdmissionNo"`
	CardSettleInfo    *struct {
		CardCompanyName string `json:"cardCompanyName"`
		CardCompanyCode string `json:"cardCompanyCode"`
		CardNo          string `json:"cardNo"`
		CardAdmissionNo string `json:"cardAdmissionNo"`
	} `json:"cardSettleInfo"`
}

type detailRequest struct {
	SellerKey               string `json:"sellerKey"`
	ReserveOrderNo          string `json:"reserveOrderNo,omitempty"`
	SellerOrderReferenceKey string `json:"sellerOrderReferenceKey"`
}

type cancelRequest struct {
	SellerKey               string               `json:"sellerKey"`
	OrderNo                 string               `json:"orderNo"`
	OrderCertifyKey         string               `json:"orderCertifyKey"`
	CancelTotalAmt          int64                `json:"cancelTotalAmt"`
	RequestMemo             string               `json:"requestMemo,omitempty"`
	SellerOrderReferenceKey string               `json:"sellerOrderReferenceKey,omitempty"`
	TotalCancelTaxfreeAmt   int64                `json:"totalCancelTaxfreeAmt"`
	TotalCancelTaxableAmt   int64                `json:"totalCancelTaxableAmt"`
	TotalCancelVatAmt       int64                `json:"totalCancelVatAmt"`
	TotalCancelPossibleAmt  int64                `json:"totalCancelPossibleAmt,omitempty"`
	OrderProducts           []cancelOrderProduct `json:"orderProducts,omitempty"`
}

type cancelOrderProduct struct {
	SellerOrderProductReferenceKey string `json:"sellerOrderProductReferenceKey"`
	CpID                           string `json:"cpId"`
	ProductID                      string `json:"productId"`
	ProductAmt                     int64  `json:"productAmt"`
	CancelDetailContent            string `json:"cancelDetailContent,omitempty"`
}

type cancelResult struct {
	OrderNo                 string `json:"orderNo"`
	CancelTradeSeq          number `json:"cancelTradeSeq"`
	TotalCancelPaymentAmt   number `json:"totalCancelPaymentAmt"`
	RemainCancelPossibleAmt number `json:"remainCancelPossibleAmt"`
	CancelYmdt              string `json:"cancelYmdt"`
	CancelPaymentDetails    []struct {
		CancelPaymentTradeNo string `json:"cancelPaymentTradeNo"`
	} `json:"cancelPaymentDetails"`
}

// number reads a PAYCO amount: a JSON number (possibly 1500.0) or a numeric string.
type number int64

func (n *number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*n = number(f)
	return nil
}

var _ json.Unmarshaler = (*number)(nil)

// kst: PAYCO timestamps are yyyyMMddHHmmss in Korean time.
var kst = time.FixedZone("KST", 9*60*60)

func parseYmdt(s string) time.Time {
	t, err := time.ParseInLocation("20060102150405", s, kst)
	if err != nil {
		return time.Time{}
	}
	return t
}

// vatSplit splits the taxable part of amount as PAYCO's sample does
// (1500 -> 1363 + 137), unless vat is given.
func vatSplit(amount, taxfree int64, vat *int64) (taxable, v int64) {
	base := amount - taxfree
	if base < 0 {
		base = 0
	}
	if vat != nil {
		return base - *vat, *vat
	}
	taxable = base * 10 / 11
	return taxable, base - taxable
}

// kftcCodes maps PAYCO card company codes to KFTC codes (inferred: PAYCO
// publishes only "CCCT" in samples; unknown codes map to "").
var kftcCodes = map[string]string{
	"CCBC": "361", "CCKJ": "364", "CCSS": "365", "CCLG": "366", "CCDI": "367",
	"CCLO": "368", "CCSU": "369", "CCCT": "370", "CCNH": "371", "CCJB": "372",
	"CCCJ": "373", "CCHN": "374", "CCKM": "381", "CCWR": "041", "CCPO": "071",
}

func cardFrom(name, paycoCode, number string) pg.Card {
	return pg.Card{Name: name, Code: kftcCodes[paycoCode], Number: number}
}

// receiptURL is PAYCO's card receipt for an order: bill.payco.com for the
// live API host, alpha-bill for the test host, the base URL itself otherwise
// (the emulator serves receipts under the same prefix).
func receiptURL(baseURL, orderNo string) string {
	base := strings.TrimRight(baseURL, "/")
	base = strings.Replace(base, "://alpha-api-bill.payco.com", "://alpha-bill.payco.com", 1)
	base = strings.Replace(base, "://api-bill.payco.com", "://bill.payco.com", 1)
	return base + "/outseller/receipt/" + orderNo + "?receiptKind=card"
}
