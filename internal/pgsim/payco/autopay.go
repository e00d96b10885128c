package payco

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// reserveReq is the body of POST /outseller/autoPayment/reserve (payco.md §1.5).
type reserveReq struct {
	SellerKey                     string `json:"sellerKey"`
	CpID                          string `json:"cpId"`
	SellerAutoPaymentReferenceKey string `json:"sellerAutoPaymentReferenceKey"`
	Currency                      string `json:"currency"`
	TotalPaymentAmt               amount `json:"totalPaymentAmt"`
	ReturnURL                     string `json:"returnUrl"`
	ReturnURLParam                string `json:"returnUrlParam"`
	OrderMethod                   string `json:"orderMethod"`
	OrderChannel                  string `json:"orderChannel"`
	InAppYn                       string `json:"inAppYn"`
	CustomURLSchemeUseYn          string `json:"customUrlSchemeUseYn"`
	AutoPaymentNo                 string `json:"autoPaymentNo"`
	AutoPaymentCertifyKey         string `json:"autoPaymentCertifyKey"`
	OrderTitle                    string `json:"orderTitle"`
	ExtraData                     string `json:"extraData"`
}

type reserveResult struct {
	ReserveOrderNo string `json:"reserveOrderNo"`
	OrderSheetURL  string `json:"orderSheetUrl"`
}

func (s *Sim) handleReserve(w http.ResponseWriter, r *http.Request) {
	var req reserveReq
	if e := decodeBody(r, &req); e != nil {
		writeResult(w, nil, e)
		return
	}
	if e := s.checkSeller(req.SellerKey); e != nil {
		writeResult(w, nil, e)
		return
	}
	row, e := validateReserve(req)
	if e != nil {
		writeResult(w, nil, e)
		return
	}
	now := s.now()
	row.No = now.In(kst).Format("20060102") + digits(10)
	row.Status = "reserved"
	row.CreatedAt = now.Unix()
	row.ExpiresAt = now.Add(reserveTTL).Unix()
	if err := s.insertReserve(r.Context(), row); err != nil {
		s.internal(w, "reserve", err)
		return
	}
	path := "/easyLogin/"
	if row.Channel == "MOBILE" {
		path = "/m/easyLogin/"
	}
	writeResult(w, reserveResult{ReserveOrderNo: row.No, OrderSheetURL: s.publicURL + path + row.No}, nil)
}

func validateReserve(req reserveReq) (reserveRow, *apiError) {
	row := reserveRow{
		SellerKey: req.SellerKey, CpID: req.CpID, RefKey: req.SellerAutoPaymentReferenceKey,
		Amount: req.TotalPaymentAmt.V, Currency: req.Currency, Title: req.OrderTitle,
		Channel: req.OrderChannel, ReturnURL: req.ReturnURL, ReturnURLParam: req.ReturnURLParam,
	}
	switch {
	case req.CpID == "" || len(req.CpID) > 30:
		return row, failMsg(codeBadRequest, "cpId")
	case row.RefKey == "" || len(row.RefKey) > 100:
		return row, failMsg(codeBadRequest, "sellerAutoPaymentReferenceKey")
	case row.Amount < 0:
		return row, failMsg(codeBadRequest, "totalPaymentAmt")
	case len(row.ReturnURL) > 1000 || !absoluteHTTP(row.ReturnURL):
		return row, failMsg(codeBadRequest, "returnUrl")
	case len(row.ReturnURLParam) > 1000:
		return row, failMsg(codeBadRequest, "returnUrlParam")
	}
	if row.Currency == "" {
		row.Currency = "KRW"
	}
	if row.Currency != "KRW" {
		return row, failMsg(codeBadRequest, "currency")
	}
	if row.Channel == "" {
		row.Channel = "PC"
	}
	if row.Channel != "PC" && row.Channel != "MOBILE" {
		return row, failMsg(codeBadRequest, "orderChannel")
	}
	if row.ReturnURLParam != "" {
		var m map[string]any
		if json.Unmarshal([]byte(row.ReturnURLParam), &m) != nil {
			return row, failMsg(codeBadRequest, "returnUrlParam must be a JSON object")
		}
	}
	if req.ExtraData != "" {
		var extra struct {
			CancelMobileURL string `json:"cancelMobileUrl"`
		}
		if json.Unmarshal([]byte(req.ExtraData), &extra) != nil {
			return row, failMsg(codeBadRequest, "extraData must be a JSON object")
		}
		if extra.CancelMobileURL != "" && !absoluteHTTP(extra.CancelMobileURL) {
			return row, failMsg(codeBadRequest, "extraData.cancelMobileUrl")
		}
		row.CancelMURL = extra.CancelMobileURL
	}
	if row.Title == "" {
		row.Title = "자동결제 등록"
	}
	return row, nil
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// keyReq identifies a registration, as autoPayment/info and /delete take it.
type keyReq struct {
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

func (s *Sim) decodeKeyReq(r *http.Request) (keyReq, *apiError) {
	var req keyReq
	if e := decodeBody(r, &req); e != nil {
		return req, e
	}
	if e := s.checkSeller(req.SellerKey); e != nil {
		return req, e
	}
	if req.SellerAutoPaymentReferenceKey == "" || req.AutoPaymentCertifyKey == "" {
		return req, failMsg(codeBadRequest, "sellerAutoPaymentReferenceKey, autoPaymentCertifyKey")
	}
	return req, nil
}

func (s *Sim) handleInfo(w http.ResponseWriter, r *http.Request) {
	req, e := s.decodeKeyReq(r)
	if e != nil {
		writeResult(w, nil, e)
		return
	}
	a, ok, err := s.activeAutopayByRef(r.Context(), req.SellerKey, req.SellerAutoPaymentReferenceKey, req.AutoPaymentCertifyKey)
	if err != nil {
		s.internal(w, "info", err)
		return
	}
	if !ok {
		writeResult(w, nil, fail(codeAutoPayNotFound))
		return
	}
	card, _ := findCard(a.Card)
	writeResult(w, infoResult{
		SellerAutoPaymentReferenceKey: a.RefKey,
		AutoPaymentCertifyKey:         a.CertifyKey,
		AutoPaymentNo:                 a.No,
		PaymentMethodCode:             "31",
		PaymentMethodName:             "신용카드",
		PinNo:                         card.MaskedNo,
		CorporationCode:               card.CorpCode,
		CorporationName:               card.CorpName,
		RegistYmdt:                    ymdt(unix(a.RegisteredAt)),
	}, nil)
}

func (s *Sim) handleDelete(w http.ResponseWriter, r *http.Request) {
	req, e := s.decodeKeyReq(r)
	if e != nil {
		writeResult(w, nil, e)
		return
	}
	res, err := s.db.ExecContext(r.Context(), `UPDATE pc_autopay SET status = 'deleted', deleted_at = ?
 WHERE seller_key = ? AND ref_key = ? AND certify_key = ? AND status = 'active'`,
		s.now().Unix(), req.SellerKey, req.SellerAutoPaymentReferenceKey, req.AutoPaymentCertifyKey)
	if err != nil {
		s.internal(w, "delete", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		writeResult(w, nil, fail(codeAutoPayNotFound))
		return
	}
	// PAYCO answers {"code":0,"message":"success"} with no result (payco.md §1.5 step 5).
	writeResult(w, nil, nil)
}
