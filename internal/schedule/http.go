package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"billkey/internal/billing"
	"billkey/internal/iamport"
	"billkey/internal/iamport/decode"
	"billkey/internal/store"
)

// MaxRange is the longest time range a list query may span ("3 months").
const MaxRange = 93 * 24 * 3600

// Routes registers the schedule endpoints (authenticated like the rest of the API).
func (s *Service) Routes(mux *http.ServeMux, auth func(iamport.AuthedHandler) http.Handler) {
	mux.Handle("POST /subscribe/payments/schedule", auth(s.create))
	mux.Handle("GET /subscribe/payments/schedule", auth(s.listRange))
	mux.Handle("POST /subscribe/payments/unschedule", auth(s.unschedule))
	mux.Handle("GET /subscribe/payments/schedule/{merchant_uid}", auth(s.get))
	mux.Handle("PUT /subscribe/payments/schedule/{merchant_uid}", auth(s.move))
	mux.Handle("POST /subscribe/payments/schedule/{merchant_uid}/reschedule", auth(s.reschedule))
	mux.Handle("POST /subscribe/payments/schedule/{merchant_uid}/retry", auth(s.retry))
	mux.Handle("GET /subscribe/payments/schedule/customers/{customer_uid}", auth(s.listCustomer))
	mux.Handle("GET /subscribe/customers/{customer_uid}/schedules", auth(s.listCustomer))
	mux.Handle("GET /billkey/schedule-retry-policy", auth(s.getPolicy))
	mux.Handle("PUT /billkey/schedule-retry-policy", auth(s.putPolicy))
}

// writeErr maps errors the way the whole i'mport API does.
func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	iamport.WriteError(w, r, s.Log, err)
}

func ok(w http.ResponseWriter, v any) { iamport.WriteJSON(w, http.StatusOK, 0, "", v) }

type scheduleItem struct {
	MerchantUID   string          `json:"merchant_uid"`
	ScheduleAt    int64           `json:"schedule_at"`
	Amount        int64           `json:"amount"`
	Currency      string          `json:"currency"`
	Name          string          `json:"name"`
	TaxFree       int64           `json:"tax_free"`
	VatAmount     *int64          `json:"vat_amount"`
	Vat           *int64          `json:"vat"`
	BuyerName     string          `json:"buyer_name"`
	BuyerEmail    string          `json:"buyer_email"`
	BuyerTel      string          `json:"buyer_tel"`
	BuyerAddr     string          `json:"buyer_addr"`
	BuyerPostcode string          `json:"buyer_postcode"`
	CustomData    decode.JSONText `json:"custom_data"`
	NoticeURL     string          `json:"notice_url"`
	CardQuota     int64           `json:"card_quota"`
}

type scheduleReq struct {
	CustomerUID      string         `json:"customer_uid"`
	CustomerID       string         `json:"customer_id"`
	CheckingAmount   int64          `json:"checking_amount"`
	PG               string         `json:"pg"`
	CardNumber       string         `json:"card_number"`
	Expiry           string         `json:"expiry"`
	Birth            string         `json:"birth"`
	Pwd2Digit        string         `json:"pwd_2digit"`
	CVC              string         `json:"cvc"`
	CustomerName     string         `json:"customer_name"`
	CustomerTel      string         `json:"customer_tel"`
	CustomerEmail    string         `json:"customer_email"`
	CustomerAddr     string         `json:"customer_addr"`
	CustomerPostcode string         `json:"customer_postcode"`
	Schedules        []scheduleItem `json:"schedules"`
}

func tooLong(field, v string, n int) error {
	if utf8.RuneCountInString(v) > n {
		return invalid(fmt.Sprintf("%s은(는) %d자 이내여야 합니다. (%s is longer than %d characters)", field, n, field, n))
	}
	return nil
}

func (it *scheduleItem) validate(i int) error {
	f := func(name string) string { return fmt.Sprintf("schedules[%d].%s", i, name) }
	switch {
	case it.MerchantUID == "":
		return invalid(f("merchant_uid") + " 파라메터가 누락되었습니다. (merchant_uid is required)")
	case it.ScheduleAt <= 0:
		return invalid(f("schedule_at") + " 파라메터가 누락되었습니다. (schedule_at is required, UNIX seconds)")
	case it.Amount <= 0:
		return invalid(f("amount") + "는 0보다 커야 합니다. (amount must be a positive integer KRW amount)")
	case it.TaxFree < 0 || it.TaxFree > it.Amount:
		return invalid(f("tax_free") + "는 0 이상 amount 이하여야 합니다. (tax_free must be between 0 and amount)")
	}
	if it.Currency == "" {
		it.Currency = "KRW"
	}
	if it.Currency != "KRW" {
		return invalid(f("currency") + ": 지원되지 않는 통화입니다 (only KRW)")
	}
	if it.VatAmount == nil {
		it.VatAmount = it.Vat
	}
	if err := tooLong(f("merchant_uid"), it.MerchantUID, 40); err != nil {
		return err
	}
	return tooLong(f("name"), it.Name, 40)
}

// POST /subscribe/payments/schedule
func (s *Service) create(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req scheduleReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	out, err := s.Create(r.Context(), merchantID, req)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, scheduleList(out))
}

// Create validates and stores the schedules of one request, all or none.
func (s *Service) Create(ctx context.Context, merchantID int64, req scheduleReq) ([]store.Schedule, error) {
	if req.CustomerUID == "" {
		return nil, invalid("customer_uid 파라메터가 누락되었습니다. (customer_uid is required)")
	}
	if err := tooLong("customer_uid", req.CustomerUID, 80); err != nil {
		return nil, err
	}
	if len(req.Schedules) == 0 {
		return nil, invalid("schedules 파라메터가 누락되었습니다. (schedules must hold at least one schedule)")
	}
	seen := map[string]bool{}
	for i := range req.Schedules {
		if err := req.Schedules[i].validate(i); err != nil {
			return nil, err
		}
		if seen[req.Schedules[i].MerchantUID] {
			return nil, refused(fmt.Sprintf("중복된 merchant_uid입니다: %s (merchant_uid appears twice in the request)", req.Schedules[i].MerchantUID))
		}
		seen[req.Schedules[i].MerchantUID] = true
	}
	cust, err := s.Store.Read().Customer(ctx, merchantID, req.CustomerUID)
	if store.IsNotFound(err) {
		if req.CardNumber == "" {
			return nil, refused(MsgNoCustomer)
		}
		cust, err = s.Billing.IssueKeyIn(ctx, merchantID, billing.KeyInInput{CustomerUID: req.CustomerUID, PG: req.PG,
			CardNumber: req.CardNumber, Expiry: req.Expiry, Birth: req.Birth, Pwd2Digit: req.Pwd2Digit, CVC: req.CVC,
			CustomerID: req.CustomerID, CustomerName: req.CustomerName, CustomerTel: req.CustomerTel,
			CustomerEmail: req.CustomerEmail, CustomerAddr: req.CustomerAddr, CustomerPostcode: req.CustomerPostcode})
		var be *billing.Error
		if errors.As(err, &be) && be.Kind == billing.KindPG {
			return nil, refused("카드정보 확인에 실패하였습니다. " + be.Message)
		}
	}
	if err != nil {
		return nil, err
	}
	if req.CheckingAmount > 0 {
		if err := s.check(ctx, merchantID, req.CustomerUID, req.CheckingAmount); err != nil {
			return nil, err
		}
	}
	now := s.now()
	var out []store.Schedule
	err = s.Store.Write(ctx, func(q store.Q) error {
		out = out[:0]
		for _, it := range req.Schedules {
			var live int
			if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM payments WHERE merchant_id = $1 AND merchant_uid = $2 AND status <> 'failed'`,
				merchantID, it.MerchantUID).Scan(&live); err != nil {
				return err
			}
			if live > 0 {
				return refused(fmt.Sprintf("이미 결제된 merchant_uid입니다: %s (merchant_uid already has a payment)", it.MerchantUID))
			}
			sc, err := q.InsertSchedule(ctx, store.Schedule{MerchantID: merchantID, CustomerUID: req.CustomerUID,
				MerchantUID: it.MerchantUID, CustomerID: or(req.CustomerID, cust.CustomerID), ScheduleAt: it.ScheduleAt,
				Amount: it.Amount, TaxFree: it.TaxFree, VatAmount: it.VatAmount, Currency: it.Currency, Name: it.Name,
				BuyerName: or(it.BuyerName, cust.CustomerName), BuyerEmail: or(it.BuyerEmail, cust.CustomerEmail),
				BuyerTel: or(it.BuyerTel, cust.CustomerTel), BuyerAddr: or(it.BuyerAddr, cust.CustomerAddr),
				BuyerPostcode: or(it.BuyerPostcode, cust.CustomerPostcode), CustomData: string(it.CustomData),
				NoticeURL: it.NoticeURL, CardQuota: it.CardQuota, CreatedAt: now})
			if errors.Is(err, store.ErrConflict) {
				return refused(fmt.Sprintf("이미 예약된 merchant_uid입니다: %s (merchant_uid already scheduled)", it.MerchantUID))
			}
			if err != nil {
				return err
			}
			out = append(out, sc)
		}
		return nil
	})
	return out, err
}

// check is checking_amount: a test charge of the key, cancelled at once.
func (s *Service) check(ctx context.Context, merchantID int64, customerUID string, amount int64) error {
	b := make([]byte, 8)
	rand.Read(b)
	p, err := s.Billing.Charge(ctx, merchantID, billing.ChargeInput{CustomerUID: customerUID, MerchantUID: "billkey_check_" + hex.EncodeToString(b),
		Amount: amount, Name: "카드 확인 (checking_amount)"})
	if err != nil {
		return refused("카드정보 확인에 실패하였습니다. " + err.Error())
	}
	if p.Status != "paid" {
		return refused("카드정보 확인에 실패하였습니다. " + p.FailReason)
	}
	if _, err := s.Billing.Cancel(context.WithoutCancel(ctx), merchantID, billing.CancelInput{ImpUID: p.ImpUID, Reason: "checking_amount 자동 취소"}); err != nil {
		s.Log.Error("checking_amount charge could not be cancelled", "imp_uid", p.ImpUID, "err", err)
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type unscheduleReq struct {
	CustomerUID string   `json:"customer_uid"`
	MerchantUID []string `json:"merchant_uid"`
}

// POST /subscribe/payments/unschedule
func (s *Service) unschedule(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req unscheduleReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	var uids []string
	for _, u := range req.MerchantUID {
		if u != "" {
			uids = append(uids, u)
		}
	}
	if req.CustomerUID == "" && len(uids) == 0 {
		s.writeErr(w, r, invalid("customer_uid 또는 merchant_uid 파라메터가 필요합니다. (customer_uid or merchant_uid is required)"))
		return
	}
	if len(uids) > 1000 {
		s.writeErr(w, r, invalid("merchant_uid는 1000개까지 지정할 수 있습니다. (at most 1000 merchant_uids)"))
		return
	}
	var out []store.Schedule
	err := s.Store.Write(r.Context(), func(q store.Q) error {
		var err error
		out, err = q.RevokeSchedules(r.Context(), merchantID, req.CustomerUID, uids, s.now())
		return err
	})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if len(out) == 0 {
		s.writeErr(w, r, refused(MsgNothingToRevoke))
		return
	}
	ok(w, scheduleList(out))
}

func (s *Service) lookup(w http.ResponseWriter, r *http.Request, merchantID int64) (store.Schedule, bool) {
	sc, err := s.Store.Read().Schedule(r.Context(), merchantID, r.PathValue("merchant_uid"))
	if store.IsNotFound(err) {
		s.writeErr(w, r, notFound(MsgNotFound))
		return sc, false
	}
	if err != nil {
		s.writeErr(w, r, err)
		return sc, false
	}
	return sc, true
}

// GET /subscribe/payments/schedule/{merchant_uid}
func (s *Service) get(w http.ResponseWriter, r *http.Request, merchantID int64) {
	if sc, found := s.lookup(w, r, merchantID); found {
		ok(w, scheduleJSON(sc))
	}
}

type atReq struct {
	ScheduleAt int64 `json:"schedule_at"`
}

func (s *Service) atBody(w http.ResponseWriter, r *http.Request) (int64, bool) {
	var req atReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return 0, false
	}
	if req.ScheduleAt <= s.now() {
		s.writeErr(w, r, invalid("schedule_at은 현재 시각 이후여야 합니다. (schedule_at must be in the future)"))
		return 0, false
	}
	return req.ScheduleAt, true
}

// PUT /subscribe/payments/schedule/{merchant_uid}: move a pending schedule.
func (s *Service) move(w http.ResponseWriter, r *http.Request, merchantID int64) {
	sc, found := s.lookup(w, r, merchantID)
	if !found {
		return
	}
	at, good := s.atBody(w, r)
	if !good {
		return
	}
	var out store.Schedule
	err := s.Store.Write(r.Context(), func(q store.Q) error {
		var err error
		out, err = q.MoveSchedule(r.Context(), merchantID, sc.ID, at, s.now())
		return err
	})
	if store.IsNotFound(err) {
		s.writeErr(w, r, invalid("예약 대기 중인 예약결제만 변경할 수 있습니다. (only a pending schedule can be moved; it was executed or revoked)"))
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, scheduleJSON(out))
}

// POST /subscribe/payments/schedule/{merchant_uid}/reschedule: a failed or
// revoked schedule becomes pending again.
func (s *Service) reschedule(w http.ResponseWriter, r *http.Request, merchantID int64) {
	sc, found := s.lookup(w, r, merchantID)
	if !found {
		return
	}
	at, good := s.atBody(w, r)
	if !good {
		return
	}
	var out store.Schedule
	err := s.Store.Write(r.Context(), func(q store.Q) error {
		var err error
		out, err = q.ReopenSchedule(r.Context(), merchantID, sc.ID, at, s.now())
		return err
	})
	if store.IsNotFound(err) {
		s.writeErr(w, r, invalid("실패했거나 취소된 예약결제만 다시 예약할 수 있습니다. (only a failed or revoked schedule can be rescheduled)"))
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, scheduleJSON(out))
}

// POST /subscribe/payments/schedule/{merchant_uid}/retry: charge a failed or
// revoked schedule now; the answer is the payment (declines are status failed).
func (s *Service) retry(w http.ResponseWriter, r *http.Request, merchantID int64) {
	sc, found := s.lookup(w, r, merchantID)
	if !found {
		return
	}
	if !(sc.Status == store.ScheduleRevoked || (sc.Status == store.ScheduleExecuted && sc.PaymentStatus == "failed")) {
		s.writeErr(w, r, invalid("실패했거나 취소된 예약결제만 재시도할 수 있습니다. (only a failed or revoked schedule can be retried)"))
		return
	}
	if _, err := s.Billing.Customer(r.Context(), merchantID, sc.CustomerUID); err != nil {
		s.writeErr(w, r, err)
		return
	}
	err := s.Store.Write(r.Context(), func(q store.Q) error {
		var err error
		sc, err = q.ClaimSchedule(r.Context(), sc.ID, s.now(), time.Now().Unix(), s.leaseUntil(), true)
		return err
	})
	if store.IsNotFound(err) {
		s.writeErr(w, r, invalid("예약결제가 이미 처리 중입니다. (the schedule is being executed)"))
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	p, err := s.run(r.Context(), sc)
	if p.ImpUID != "" {
		if p.Cancels == nil {
			p.Cancels = []store.Cancel{}
		}
		ok(w, iamport.PaymentJSON(p))
		return
	}
	s.writeErr(w, r, err)
}

type rangeQuery struct {
	ScheduleFrom   int64  `query:"schedule_from"`
	ScheduleTo     int64  `query:"schedule_to"`
	From           int64  `query:"from"`
	To             int64  `query:"to"`
	ScheduleStatus string `query:"schedule_status"`
	ScheduleStatu2 string `query:"schedule-status"`
	Page           int    `query:"page"`
	Limit          int    `query:"limit"`
	Sorting        string `query:"sorting"`
}

func (s *Service) filter(q rangeQuery, merchantID int64, customerUID string) (store.ScheduleFilter, int, int, error) {
	f := store.ScheduleFilter{MerchantID: merchantID, CustomerUID: customerUID}
	f.From, f.To = q.ScheduleFrom, q.ScheduleTo
	if f.From == 0 {
		f.From = q.From
	}
	if f.To == 0 {
		f.To = q.To
	}
	if customerUID != "" {
		// The customer lists default to the three months around now.
		if f.To == 0 && f.From == 0 {
			f.From, f.To = s.now()-MaxRange/2, s.now()+MaxRange/2
		} else if f.To == 0 {
			f.To = f.From + MaxRange
		} else if f.From == 0 {
			f.From = f.To - MaxRange
		}
	}
	switch {
	case f.From <= 0 || f.To <= 0:
		return f, 0, 0, invalid("schedule_from, schedule_to 파라메터가 필요합니다. (schedule_from and schedule_to are required, UNIX seconds)")
	case f.To <= f.From:
		return f, 0, 0, invalid("schedule_to는 schedule_from보다 커야 합니다. (schedule_to must be after schedule_from)")
	case f.To-f.From > MaxRange:
		return f, 0, 0, invalid("조회 기간은 최대 3개월입니다. (the range may span at most 3 months)")
	}
	f.Status = or(q.ScheduleStatus, q.ScheduleStatu2)
	switch f.Status {
	case "", store.ScheduleScheduled, store.ScheduleExecuted, store.ScheduleRevoked:
	default:
		return f, 0, 0, invalid("지원되지 않는 상태값입니다. (schedule_status must be scheduled, executed or revoked)")
	}
	switch q.Sorting {
	case "", "-scheduled":
	case "scheduled":
		f.OldestFirst = true
	default:
		return f, 0, 0, invalid("지원되지 않는 정렬 방식입니다. (sorting must be -scheduled or scheduled)")
	}
	page, limit := q.Page, q.Limit
	if page == 0 {
		page = 1
	}
	if limit == 0 {
		limit = 20
	}
	if limit < 0 || limit > 1000 {
		return f, 0, 0, invalid("limit은 1 이상 1000 이하여야 합니다. (limit must be 1..1000)")
	}
	if page < 0 || page > 1_000_000 {
		return f, 0, 0, invalid("page가 범위를 벗어났습니다. (page out of range)")
	}
	f.Limit, f.Offset = limit, (page-1)*limit
	return f, page, limit, nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request, merchantID int64, customerUID string) {
	var q rangeQuery
	if err := decode.Query(r.URL.Query(), &q); err != nil {
		s.writeErr(w, r, err)
		return
	}
	f, page, limit, err := s.filter(q, merchantID, customerUID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ss, total, err := s.Store.Read().Schedules(r.Context(), f)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, newPaged(scheduleList(ss), total, page, limit))
}

// GET /subscribe/payments/schedule?schedule_from=&schedule_to=
func (s *Service) listRange(w http.ResponseWriter, r *http.Request, merchantID int64) {
	s.list(w, r, merchantID, "")
}

// GET /subscribe/payments/schedule/customers/{customer_uid} and /subscribe/customers/{customer_uid}/schedules
func (s *Service) listCustomer(w http.ResponseWriter, r *http.Request, merchantID int64) {
	s.list(w, r, merchantID, r.PathValue("customer_uid"))
}

type policyReq struct {
	Delays string `json:"delays"`
}

// GET /billkey/schedule-retry-policy
func (s *Service) getPolicy(w http.ResponseWriter, r *http.Request, merchantID int64) {
	d, err := s.Store.Read().ScheduleRetryDelays(r.Context(), merchantID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, policyReq{Delays: d})
}

// PUT /billkey/schedule-retry-policy {"delays":"1d,3d,7d"} ("" turns it off)
func (s *Service) putPolicy(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var req policyReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if req.Delays != "" {
		if _, err := ParseDelays(req.Delays); err != nil {
			s.writeErr(w, r, invalid("delays: "+err.Error()))
			return
		}
	}
	err := s.Store.Write(r.Context(), func(q store.Q) error {
		return q.SetScheduleRetryDelays(r.Context(), merchantID, req.Delays, s.now())
	})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, req)
}
