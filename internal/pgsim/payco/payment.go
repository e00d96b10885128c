package payco

import (
	"context"
	"net/http"
	"time"
)

// paymentReq is the body of POST /outseller/autoPayment/payment (payco.md §1.5 step 4).
type paymentReq struct {
	SellerKey                   string         `json:"sellerKey"`
	AutoPaymentNo               string         `json:"autoPaymentNo"`
	AutoPaymentCertifyKey       string         `json:"autoPaymentCertifyKey"`
	SellerOrderReferenceKey     string         `json:"sellerOrderReferenceKey"`
	SellerOrderReferenceKeyType string         `json:"sellerOrderReferenceKeyType"`
	Currency                    string         `json:"currency"`
	TotalPaymentAmt             amount         `json:"totalPaymentAmt"`
	TotalTaxfreeAmt             amount         `json:"totalTaxfreeAmt"`
	TotalTaxableAmt             amount         `json:"totalTaxableAmt"`
	TotalVatAmt                 amount         `json:"totalVatAmt"`
	OrderTitle                  string         `json:"orderTitle"`
	OrderProducts               []orderProdReq `json:"orderProducts"`
}

type orderProdReq struct {
	CpID                           string `json:"cpId"`
	ProductID                      string `json:"productId"`
	ProductAmt                     amount `json:"productAmt"`
	ProductPaymentAmt              amount `json:"productPaymentAmt"`
	OrderQuantity                  int64  `json:"orderQuantity"`
	SortOrdering                   int64  `json:"sortOrdering"`
	ProductName                    string `json:"productName"`
	SellerOrderProductReferenceKey string `json:"sellerOrderProductReferenceKey"`
	TaxationType                   string `json:"taxationType"`
}

func (s *Sim) handlePayment(w http.ResponseWriter, r *http.Request) {
	var req paymentReq
	if e := decodeBody(r, &req); e != nil {
		writeResult(w, nil, e)
		return
	}
	if e := s.checkSeller(req.SellerKey); e != nil {
		writeResult(w, nil, e)
		return
	}
	o, e := validatePayment(req)
	if e != nil {
		writeResult(w, nil, e)
		return
	}
	ctx := r.Context()
	a, ok, err := s.activeAutopayByNo(ctx, req.SellerKey, req.AutoPaymentNo, req.AutoPaymentCertifyKey)
	if err != nil {
		s.internal(w, "payment", err)
		return
	}
	if !ok {
		writeResult(w, nil, fail(codeAutoPayNotFound))
		return
	}
	card, _ := findCard(a.Card)
	now := s.now()
	o.AutoPayNo, o.Card, o.CreatedAt = a.No, card.ID, now.Unix()
	o.No = now.In(kst).Format("20060102") + digits(10)
	o.CertifyKey = secretHex(16)
	o.TradeNo = now.In(kst).Format("060102") + digits(12)
	o.AdmissionNo = digits(8)
	e, err = s.insertCharge(ctx, o, card)
	if err != nil {
		s.internal(w, "payment", err)
		return
	}
	if e != nil {
		writeResult(w, nil, e)
		return
	}
	writeResult(w, buildOrderResult(o, card), nil)
}

func validatePayment(req paymentReq) (orderRow, *apiError) {
	o := orderRow{SellerKey: req.SellerKey, RefKey: req.SellerOrderReferenceKey, Title: req.OrderTitle,
		Amount: req.TotalPaymentAmt.V, Taxfree: req.TotalTaxfreeAmt.V}
	switch {
	case req.AutoPaymentNo == "" || req.AutoPaymentCertifyKey == "":
		return o, failMsg(codeBadRequest, "autoPaymentNo, autoPaymentCertifyKey")
	case o.RefKey == "" || len(o.RefKey) > 100:
		return o, failMsg(codeBadRequest, "sellerOrderReferenceKey")
	case !req.TotalPaymentAmt.Set || o.Amount <= 0:
		return o, failMsg(codeBadRequest, "totalPaymentAmt")
	case o.Taxfree < 0 || o.Taxfree > o.Amount:
		return o, failMsg(codeBadRequest, "totalTaxfreeAmt")
	case req.Currency != "" && req.Currency != "KRW":
		return o, failMsg(codeBadRequest, "currency")
	}
	if req.TotalTaxableAmt.Set || req.TotalVatAmt.Set {
		if req.TotalTaxableAmt.V+req.TotalVatAmt.V+o.Taxfree != o.Amount {
			return o, failMsg(codeBadRequest, "totalTaxfreeAmt + totalTaxableAmt + totalVatAmt != totalPaymentAmt")
		}
	}
	if len(req.OrderProducts) > 0 {
		var sum int64
		for _, p := range req.OrderProducts {
			if p.CpID == "" || p.ProductID == "" {
				return o, failMsg(codeBadRequest, "orderProducts[].cpId, productId")
			}
			sum += p.ProductPaymentAmt.V
		}
		if sum != o.Amount {
			return o, failMsg(codeBadRequest, "sum of orderProducts[].productPaymentAmt != totalPaymentAmt")
		}
		p := req.OrderProducts[0]
		o.CpID, o.ProductID, o.ProductRef = p.CpID, p.ProductID, p.SellerOrderProductReferenceKey
	}
	if o.Title == "" {
		o.Title = "자동결제"
	}
	return o, nil
}

// insertCharge records a charge and its ledger line, or refuses it.
func (s *Sim) insertCharge(ctx context.Context, o orderRow, card testCard) (*apiError, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, dup, err := s.orderByRef(ctx, tx, o.SellerKey, o.RefKey); err != nil {
		return nil, err
	} else if dup {
		return fail(codeDuplicateOrder), nil
	}
	if card.ChargeC != 0 {
		return fail(card.ChargeC), nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO pc_orders (`+orderCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		o.No, o.CertifyKey, o.SellerKey, o.RefKey, o.AutoPayNo, o.CpID, o.ProductID, o.ProductRef, o.Title,
		o.Amount, o.Taxfree, o.Cancelled, o.CancelSeq, o.Card, o.TradeNo, o.AdmissionNo, o.CreatedAt)
	if err != nil {
		return nil, err
	}
	if err := insertLedger(ctx, tx, "charge", o.No, o.RefKey, o.AutoPayNo, o.Amount, o.TradeNo, o.CreatedAt); err != nil {
		return nil, err
	}
	return nil, tx.Commit()
}

// orderResult is shaped like the payment/approval result of payco.md §1.3,
// which autoPayment/payment and getDetailForVerify share (inferred).
type orderResult struct {
	SellerOrderReferenceKey       string          `json:"sellerOrderReferenceKey"`
	OrderNo                       string          `json:"orderNo"`
	MemberName                    string          `json:"memberName"`
	MemberEmail                   string          `json:"memberEmail"`
	OrderChannel                  string          `json:"orderChannel"`
	TotalOrderAmt                 int64           `json:"totalOrderAmt"`
	TotalDeliveryFeeAmt           int64           `json:"totalDeliveryFeeAmt"`
	TotalRemoteAreaDeliveryFeeAmt int64           `json:"totalRemoteAreaDeliveryFeeAmt"`
	TotalPaymentAmt               int64           `json:"totalPaymentAmt"`
	OrderProducts                 []orderProduct  `json:"orderProducts"`
	PaymentDetails                []paymentDetail `json:"paymentDetails"`
	OrderCertifyKey               string          `json:"orderCertifyKey"`
	PaymentCompletionYn           string          `json:"paymentCompletionYn"`
	PaymentCompleteYmdt           string          `json:"paymentCompleteYmdt"`
}

type orderProduct struct {
	OrderProductNo                 string `json:"orderProductNo"`
	SellerOrderProductReferenceKey string `json:"sellerOrderProductReferenceKey"`
	OrderProductStatusCode         string `json:"orderProductStatusCode"`
	OrderProductStatusName         string `json:"orderProductStatusName"`
	CpID                           string `json:"cpId"`
	ProductID                      string `json:"productId"`
	ProductKindCode                string `json:"productKindCode"`
	ProductPaymentAmt              int64  `json:"productPaymentAmt"`
	OriginalProductPaymentAmt      int64  `json:"originalProductPaymentAmt"`
}

type paymentDetail struct {
	PaymentTradeNo    string         `json:"paymentTradeNo"`
	PaymentMethodCode string         `json:"paymentMethodCode"`
	PaymentMethodName string         `json:"paymentMethodName"`
	PaymentAmt        int64          `json:"paymentAmt"`
	TaxfreeAmt        int64          `json:"taxfreeAmt"`
	TaxableAmt        int64          `json:"taxableAmt"`
	VatAmt            int64          `json:"vatAmt"`
	ServiceAmt        int64          `json:"serviceAmt"`
	TradeYmdt         string         `json:"tradeYmdt"`
	PgAdmissionNo     string         `json:"pgAdmissionNo"`
	PgAdmissionYmdt   string         `json:"pgAdmissionYmdt"`
	EasyPaymentYn     string         `json:"easyPaymentYn"`
	CardSettleInfo    cardSettleInfo `json:"cardSettleInfo"`
}

type cardSettleInfo struct {
	CardCompanyName            string `json:"cardCompanyName"`
	CardCompanyCode            string `json:"cardCompanyCode"`
	CardNo                     string `json:"cardNo"`
	CardInstallmentMonthNumber string `json:"cardInstallmentMonthNumber"`
	CardAdmissionNo            string `json:"cardAdmissionNo"`
	CardInterestFreeYn         string `json:"cardInterestFreeYn"`
	CorporateCardYn            string `json:"corporateCardYn"`
	PartCancelPossibleYn       string `json:"partCancelPossibleYn"`
}

func buildOrderResult(o orderRow, card testCard) orderResult {
	at := ymdt(unix(o.CreatedAt))
	taxable, vat := vatSplit(o.Amount, o.Taxfree)
	status, statusName := "OPSPAED", "결제완료"
	if o.Cancelled >= o.Amount {
		status, statusName = "OPSCANCL", "취소완료" // (inferred code for a fully cancelled product)
	}
	return orderResult{
		SellerOrderReferenceKey: o.RefKey,
		OrderNo:                 o.No,
		MemberName:              "페*코",
		MemberEmail:             "te**@payco.test",
		OrderChannel:            "PC",
		TotalOrderAmt:           o.Amount,
		TotalPaymentAmt:         o.Amount,
		OrderProducts: []orderProduct{{
			OrderProductNo:                 o.No + "01",
			SellerOrderProductReferenceKey: o.ProductRef,
			OrderProductStatusCode:         status,
			OrderProductStatusName:         statusName,
			CpID:                           o.CpID,
			ProductID:                      o.ProductID,
			ProductKindCode:                "GENERAL_PRODUCT",
			ProductPaymentAmt:              o.Amount,
			OriginalProductPaymentAmt:      o.Amount,
		}},
		PaymentDetails: []paymentDetail{{
			PaymentTradeNo:    o.TradeNo,
			PaymentMethodCode: "31",
			PaymentMethodName: "신용카드",
			PaymentAmt:        o.Amount,
			TaxfreeAmt:        o.Taxfree,
			TaxableAmt:        taxable,
			VatAmt:            vat,
			TradeYmdt:         at,
			PgAdmissionNo:     o.AdmissionNo,
			PgAdmissionYmdt:   at,
			EasyPaymentYn:     "Y",
			CardSettleInfo: cardSettleInfo{
				CardCompanyName:            card.CorpName,
				CardCompanyCode:            card.CorpCode,
				CardNo:                     card.MaskedNo,
				CardInstallmentMonthNumber: "00",
				CardAdmissionNo:            o.AdmissionNo,
				CardInterestFreeYn:         "N",
				CorporateCardYn:            "N",
				PartCancelPossibleYn:       "Y",
			},
		}},
		OrderCertifyKey:     o.CertifyKey,
		PaymentCompletionYn: "Y",
		PaymentCompleteYmdt: at,
	}
}

func unix(sec int64) time.Time { return time.Unix(sec, 0) }

// detailReq is the body of POST /outseller/payment/approval/getDetailForVerify.
type detailReq struct {
	SellerKey               string `json:"sellerKey"`
	ReserveOrderNo          string `json:"reserveOrderNo"`
	SellerOrderReferenceKey string `json:"sellerOrderReferenceKey"`
}

// handleDetail looks an order up by the merchant's order number. For
// auto-payment charges there is no reserveOrderNo, so the emulator finds them
// by sellerOrderReferenceKey alone (inferred).
func (s *Sim) handleDetail(w http.ResponseWriter, r *http.Request) {
	var req detailReq
	if e := decodeBody(r, &req); e != nil {
		writeResult(w, nil, e)
		return
	}
	if e := s.checkSeller(req.SellerKey); e != nil {
		writeResult(w, nil, e)
		return
	}
	if req.SellerOrderReferenceKey == "" {
		writeResult(w, nil, failMsg(codeBadRequest, "sellerOrderReferenceKey"))
		return
	}
	o, ok, err := s.orderByRef(r.Context(), s.db, req.SellerKey, req.SellerOrderReferenceKey)
	if err != nil {
		s.internal(w, "getDetailForVerify", err)
		return
	}
	if !ok {
		writeResult(w, nil, fail(codeOrderNotFound))
		return
	}
	card, _ := findCard(o.Card)
	writeResult(w, buildOrderResult(o, card), nil)
}
