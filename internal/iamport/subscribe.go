package iamport

import (
	"net/http"

	"billkey/internal/billing"
	"billkey/internal/iamport/decode"
	"billkey/internal/store"
)

type againReq struct {
	CustomerUID   string            `json:"customer_uid"`
	MerchantUID   string            `json:"merchant_uid"`
	Amount        int64             `json:"amount"`
	Name          string            `json:"name"`
	Currency      string            `json:"currency"`
	TaxFree       int64             `json:"tax_free"`
	VatAmount     *int64            `json:"vat_amount"`
	Vat           *int64            `json:"vat"`
	BuyerName     string            `json:"buyer_name"`
	BuyerEmail    string            `json:"buyer_email"`
	BuyerTel      string            `json:"buyer_tel"`
	BuyerAddr     string            `json:"buyer_addr"`
	BuyerPostcode string            `json:"buyer_postcode"`
	CardQuota     int64             `json:"card_quota"`
	CustomData    decode.JSONText   `json:"custom_data"`
	NoticeURL     string            `json:"notice_url"`
	BrowserIP     string            `json:"browser_ip"`
	Extra         map[string]string `json:"extra"`
	// Card data, for onetime.
	PG         string `json:"pg"`
	CardNumber string `json:"card_number"`
	Expiry     string `json:"expiry"`
	Birth      string `json:"birth"`
	Pwd2Digit  string `json:"pwd_2digit"`
	CVC        string `json:"cvc"`
	CustomerID string `json:"customer_id"`
}

func (q againReq) chargeInput(usage string) billing.ChargeInput {
	vat := q.VatAmount
	if vat == nil {
		vat = q.Vat
	}
	return billing.ChargeInput{CustomerUID: q.CustomerUID, MerchantUID: q.MerchantUID, Amount: q.Amount, TaxFree: q.TaxFree,
		VatAmount: vat, Currency: q.Currency, Name: q.Name, CardQuota: q.CardQuota, BuyerName: q.BuyerName,
		BuyerEmail: q.BuyerEmail, BuyerTel: q.BuyerTel, BuyerAddr: q.BuyerAddr, BuyerPostcode: q.BuyerPostcode,
		CustomData: string(q.CustomData), NoticeURL: q.NoticeURL, Usage: usage}
}

// POST /subscribe/payments/again
func (s *Server) again(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req againReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	p, err := s.Billing.Charge(r.Context(), merchantID, req.chargeInput(billing.UsagePayment))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, PaymentJSON(p))
}

// POST /subscribe/payments/onetime
func (s *Server) onetime(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req againReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	p, err := s.Billing.Onetime(r.Context(), merchantID, billing.KeyInInput{CustomerUID: req.CustomerUID, PG: req.PG,
		CardNumber: req.CardNumber, Expiry: req.Expiry, Birth: req.Birth, Pwd2Digit: req.Pwd2Digit, CVC: req.CVC,
		CustomerID: req.CustomerID, CustomerName: req.BuyerName, CustomerTel: req.BuyerTel, CustomerEmail: req.BuyerEmail,
		CustomerAddr: req.BuyerAddr, CustomerPostcode: req.BuyerPostcode}, req.chargeInput(billing.UsagePayment))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, PaymentJSON(p))
}

type customerReq struct {
	CustomerUID      string `json:"customer_uid"`
	PG               string `json:"pg"`
	CardNumber       string `json:"card_number"`
	Expiry           string `json:"expiry"`
	Birth            string `json:"birth"`
	Pwd2Digit        string `json:"pwd_2digit"`
	CVC              string `json:"cvc"`
	CustomerID       string `json:"customer_id"`
	CustomerName     string `json:"customer_name"`
	CustomerTel      string `json:"customer_tel"`
	CustomerEmail    string `json:"customer_email"`
	CustomerAddr     string `json:"customer_addr"`
	CustomerPostcode string `json:"customer_postcode"`
}

// POST /subscribe/customers/{customer_uid}: the path wins over a body customer_uid.
func (s *Server) customerIssue(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req customerReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	c, err := s.Billing.IssueKeyIn(r.Context(), merchantID, billing.KeyInInput{CustomerUID: r.PathValue("customer_uid"),
		PG: req.PG, CardNumber: req.CardNumber, Expiry: req.Expiry, Birth: req.Birth, Pwd2Digit: req.Pwd2Digit, CVC: req.CVC,
		CustomerID: req.CustomerID, CustomerName: req.CustomerName, CustomerTel: req.CustomerTel, CustomerEmail: req.CustomerEmail,
		CustomerAddr: req.CustomerAddr, CustomerPostcode: req.CustomerPostcode})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, CustomerJSON(c))
}

// GET /subscribe/customers/{customer_uid}
func (s *Server) customerGet(w http.ResponseWriter, r *http.Request, merchantID int64) {
	c, err := s.Billing.Customer(r.Context(), merchantID, r.PathValue("customer_uid"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, CustomerJSON(c))
}

// DELETE /subscribe/customers/{customer_uid}
func (s *Server) customerDelete(w http.ResponseWriter, r *http.Request, merchantID int64) {
	c, err := s.Billing.DeleteCustomer(r.Context(), merchantID, r.PathValue("customer_uid"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, CustomerJSON(c))
}

type customersQuery struct {
	CustomerUID []string `query:"customer_uid"`
}

// GET /subscribe/customers?customer_uid[]=…: 200 all found, 207 some, 404 none.
func (s *Server) customersMany(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var q customersQuery
	if err := decode.Query(r.URL.Query(), &q); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if len(q.CustomerUID) == 0 {
		badRequest(w, "customer_uid 파라메터가 누락되었습니다. (customer_uid[] is required)")
		return
	}
	if len(q.CustomerUID) > 100 {
		badRequest(w, "customer_uid는 최대 100개까지 조회할 수 있습니다. (at most 100 customer_uid)")
		return
	}
	cs, err := s.Billing.Customers(r.Context(), merchantID, q.CustomerUID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	list := make([]CustomerObj, 0, len(cs))
	for _, c := range cs {
		list = append(list, CustomerJSON(c))
	}
	switch {
	case len(list) == 0:
		WriteJSON(w, http.StatusNotFound, -1, "요청하신 customer_uid로 등록된 정보를 찾을 수 없습니다.", nil)
	case len(list) < len(uniq(q.CustomerUID)):
		WriteJSON(w, http.StatusMultiStatus, 0, "", list)
	default:
		ok(w, list)
	}
}

type pageQuery struct {
	Page  int `query:"page"`
	Limit int `query:"limit"`
}

// GET /subscribe/customers/{customer_uid}/payments?page=
func (s *Server) customerPayments(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var q pageQuery
	if err := decode.Query(r.URL.Query(), &q); err != nil {
		s.writeErr(w, r, err)
		return
	}
	uid := r.PathValue("customer_uid")
	if _, err := s.Billing.Customer(r.Context(), merchantID, uid); err != nil {
		s.writeErr(w, r, err)
		return
	}
	page := max(q.Page, 1)
	if page > 100000 {
		badRequest(w, "page가 범위를 벗어났습니다. (page out of range)")
		return
	}
	ps, total, err := s.Store.Read().Payments(r.Context(), store.PaymentFilter{MerchantID: merchantID, CustomerUID: uid, Limit: 20, Offset: (page - 1) * 20})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, NewPaged(PaymentList(ps), total, page, 20))
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// PaymentList maps payments to Payment objects.
func PaymentList(ps []store.Payment) []PaymentObj {
	out := make([]PaymentObj, 0, len(ps))
	for _, p := range ps {
		out = append(out, PaymentJSON(p))
	}
	return out
}
