package iamport

import (
	"context"
	"net/http"
	"time"

	"billkey/internal/billing"
	"billkey/internal/iamport/decode"
	"billkey/internal/store"
)

var paymentStatuses = map[string]bool{"ready": true, "paid": true, "cancelled": true, "failed": true, "all": true}

const msgBadStatus = "지원되지 않는 상태값입니다."

func notFoundPayment(w http.ResponseWriter) {
	WriteJSON(w, http.StatusNotFound, -1, billing.MsgPaymentNotFound, nil)
}

// GET /payments/{imp_uid}
func (s *Server) paymentGet(w http.ResponseWriter, r *http.Request, merchantID int64) {
	p, err := s.Billing.Payment(r.Context(), merchantID, r.PathValue("imp_uid"))
	if store.IsNotFound(err) {
		notFoundPayment(w)
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, PaymentJSON(p))
}

type paymentsQuery struct {
	ImpUID      []string `query:"imp_uid"`
	MerchantUID []string `query:"merchant_uid"`
}

// GET /payments?imp_uid[]=…&merchant_uid[]=…: 200 all found, 207 some, 404 none.
func (s *Server) paymentsMany(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var q paymentsQuery
	if err := decode.Query(r.URL.Query(), &q); err != nil {
		s.writeErr(w, r, err)
		return
	}
	asked := len(uniq(q.ImpUID)) + len(uniq(q.MerchantUID))
	if asked == 0 {
		badRequest(w, "imp_uid[] 또는 merchant_uid[] 파라메터가 필요합니다. (imp_uid[] or merchant_uid[] is required)")
		return
	}
	if asked > 100 {
		badRequest(w, "최대 100건까지 조회할 수 있습니다. (at most 100 ids)")
		return
	}
	ps, _, err := s.Store.Read().Payments(r.Context(), store.PaymentFilter{MerchantID: merchantID, ImpUIDs: q.ImpUID, MerchantUIDs: q.MerchantUID, Limit: 1000})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	found := map[string]bool{}
	for _, p := range ps {
		found["i:"+p.ImpUID] = true
		found["m:"+p.MerchantUID] = true
	}
	missing := 0
	for _, id := range uniq(q.ImpUID) {
		if !found["i:"+id] {
			missing++
		}
	}
	for _, id := range uniq(q.MerchantUID) {
		if !found["m:"+id] {
			missing++
		}
	}
	switch {
	case len(ps) == 0:
		notFoundPayment(w)
	case missing > 0:
		WriteJSON(w, http.StatusMultiStatus, 0, "", PaymentList(ps))
	default:
		ok(w, PaymentList(ps))
	}
}

type findQuery struct {
	Sorting string `query:"sorting"`
	Page    int    `query:"page"`
	Limit   int    `query:"limit"`
	From    int64  `query:"from"`
	To      int64  `query:"to"`
}

func (s *Server) statusParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	st := r.PathValue("status")
	if st == "" {
		return "all", true
	}
	if !paymentStatuses[st] {
		badRequest(w, msgBadStatus)
		return "", false
	}
	return st, true
}

func (s *Server) listQuery(w http.ResponseWriter, r *http.Request) (findQuery, bool) {
	var q findQuery
	if err := decode.Query(r.URL.Query(), &q); err != nil {
		s.writeErr(w, r, err)
		return q, false
	}
	if !store.ValidSorting(q.Sorting) {
		badRequest(w, "지원되지 않는 정렬 방식입니다. (sorting must be one of -started, started, -paid, paid, -updated, updated)")
		return q, false
	}
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Limit < 0 || q.Limit > 1000 {
		badRequest(w, "limit은 1 이상 1000 이하여야 합니다. (limit must be 1..1000)")
		return q, false
	}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Page < 0 || q.Page > 1_000_000 {
		badRequest(w, "page가 범위를 벗어났습니다. (page out of range)")
		return q, false
	}
	return q, true
}

// GET /payments/find/{merchant_uid}[/{status}]: the first in sort order.
func (s *Server) paymentFind(w http.ResponseWriter, r *http.Request, merchantID int64) {
	st, good := s.statusParam(w, r)
	if !good {
		return
	}
	q, good := s.listQuery(w, r)
	if !good {
		return
	}
	ps, _, err := s.Store.Read().Payments(r.Context(), store.PaymentFilter{MerchantID: merchantID,
		MerchantUIDs: []string{r.PathValue("merchant_uid")}, Status: st, Sorting: q.Sorting, Limit: 1})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if len(ps) == 0 {
		notFoundPayment(w)
		return
	}
	ok(w, PaymentJSON(ps[0]))
}

// GET /payments/findAll/{merchant_uid}[/{status}]: paged.
func (s *Server) paymentFindAll(w http.ResponseWriter, r *http.Request, merchantID int64) {
	st, good := s.statusParam(w, r)
	if !good {
		return
	}
	q, good := s.listQuery(w, r)
	if !good {
		return
	}
	ps, total, err := s.Store.Read().Payments(r.Context(), store.PaymentFilter{MerchantID: merchantID,
		MerchantUIDs: []string{r.PathValue("merchant_uid")}, Status: st, Sorting: q.Sorting, Limit: q.Limit, Offset: (q.Page - 1) * q.Limit})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if total == 0 {
		notFoundPayment(w)
		return
	}
	ok(w, NewPaged(PaymentList(ps), total, q.Page, q.Limit))
}

// GET /payments/status/{status}?page&limit&from&to&sorting
func (s *Server) paymentsByStatus(w http.ResponseWriter, r *http.Request, merchantID int64) {
	st, good := s.statusParam(w, r)
	if !good {
		return
	}
	q, good := s.listQuery(w, r)
	if !good {
		return
	}
	if q.To == 0 {
		q.To = s.Clock.Now().Unix()
	}
	if q.From == 0 {
		q.From = q.To - int64(90*24*time.Hour/time.Second)
	}
	if q.From > q.To {
		badRequest(w, "from은 to보다 클 수 없습니다. (from must not be after to)")
		return
	}
	ps, total, err := s.Store.Read().Payments(r.Context(), store.PaymentFilter{MerchantID: merchantID, Status: st,
		From: q.From, To: q.To, Sorting: q.Sorting, Limit: q.Limit, Offset: (q.Page - 1) * q.Limit})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, NewPaged(PaymentList(ps), total, q.Page, q.Limit))
}

type cancelReq struct {
	ImpUID        string            `json:"imp_uid"`
	MerchantUID   string            `json:"merchant_uid"`
	Amount        int64             `json:"amount"`
	TaxFree       int64             `json:"tax_free"`
	VatAmount     *int64            `json:"vat_amount"`
	Checksum      *int64            `json:"checksum"`
	Reason        string            `json:"reason"`
	EnableWebhook bool              `json:"enable_webhook"`
	RefundHolder  string            `json:"refund_holder"`
	RefundBank    string            `json:"refund_bank"`
	RefundAccount string            `json:"refund_account"`
	Extra         map[string]string `json:"extra"`
}

// POST /payments/cancel
func (s *Server) cancel(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req cancelReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	p, err := s.Billing.Cancel(r.Context(), merchantID, billing.CancelInput{ImpUID: req.ImpUID, MerchantUID: req.MerchantUID,
		Amount: req.Amount, TaxFree: req.TaxFree, VatAmount: req.VatAmount, Checksum: req.Checksum, Reason: req.Reason,
		EnableWebhook: req.EnableWebhook})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, PaymentJSON(p))
}

type prepareReq struct {
	MerchantUID string `json:"merchant_uid"`
	Amount      int64  `json:"amount"`
}

func (s *Server) prepareInput(w http.ResponseWriter, r *http.Request) (prepareReq, bool) {
	var req prepareReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return req, false
	}
	if req.MerchantUID == "" || len([]rune(req.MerchantUID)) > 40 {
		badRequest(w, "merchant_uid는 1자 이상 40자 이하여야 합니다. (merchant_uid is required, at most 40 characters)")
		return req, false
	}
	if req.Amount <= 0 {
		badRequest(w, "amount는 0보다 커야 합니다. (amount must be positive)")
		return req, false
	}
	return req, true
}

const msgPrepareNotFound = "사전등록된 결제정보가 존재하지 않습니다."

// POST /payments/prepare
func (s *Server) prepareCreate(w http.ResponseWriter, r *http.Request, merchantID int64) {
	s.prepareWrite(w, r, merchantID, store.Q.InsertPrepare)
}

// PUT /payments/prepare
func (s *Server) prepareUpdate(w http.ResponseWriter, r *http.Request, merchantID int64) {
	s.prepareWrite(w, r, merchantID, store.Q.UpdatePrepare)
}

// prepareWrite registers (insert) or changes (update) a prepared amount.
func (s *Server) prepareWrite(w http.ResponseWriter, r *http.Request, merchantID int64,
	write func(store.Q, context.Context, int64, store.Prepare) (store.Prepare, error)) {
	req, good := s.prepareInput(w, r)
	if !good {
		return
	}
	var out store.Prepare
	err := s.Store.Write(r.Context(), func(q store.Q) error {
		var err error
		out, err = write(q, r.Context(), merchantID, store.Prepare{MerchantUID: req.MerchantUID, Amount: req.Amount, UpdatedAt: s.Clock.Now().Unix()})
		return err
	})
	switch {
	case store.IsUniqueViolation(err):
		WriteJSON(w, http.StatusOK, 1, "이미 사전등록된 merchant_uid입니다. PUT으로 금액을 변경하세요. (already prepared; use PUT to change it)", nil)
	case store.IsNotFound(err):
		WriteJSON(w, http.StatusNotFound, -1, msgPrepareNotFound, nil)
	case err != nil:
		s.writeErr(w, r, err)
	default:
		ok(w, prepareObj{MerchantUID: out.MerchantUID, Amount: out.Amount})
	}
}

// GET /payments/prepare/{merchant_uid}
func (s *Server) prepareGet(w http.ResponseWriter, r *http.Request, merchantID int64) {
	p, err := s.Store.Read().GetPrepare(r.Context(), merchantID, r.PathValue("merchant_uid"))
	if store.IsNotFound(err) {
		WriteJSON(w, http.StatusNotFound, -1, msgPrepareNotFound, nil)
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, prepareObj{MerchantUID: p.MerchantUID, Amount: p.Amount})
}
