package kakaopay

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// Payment statuses (kakaopay.md §1.5).
const (
	stReady        = "READY"
	stAuthPassword = "AUTH_PASSWORD"
	stIssuedSID    = "ISSUED_SID"
	stSuccess      = "SUCCESS_PAYMENT"
	stPartCancel   = "PART_CANCEL_PAYMENT"
	stCancel       = "CANCEL_PAYMENT"
	stQuit         = "QUIT_PAYMENT"
	stFail         = "FAIL_PAYMENT"
)

func missing(field string) *apiError { return fail(codeBadParam, field+" is required") }

func tooLong(field, v string, n int) *apiError {
	if utf8.RuneCountInString(v) > n {
		return fail(codeBadParam, field+" is too long")
	}
	return nil
}

func (s *Sim) ready(ctx context.Context, r *http.Request) (any, *apiError) {
	var req readyReq
	if e := decodeBody(r, &req); e != nil {
		return nil, e
	}
	switch {
	case req.CID == "":
		return nil, missing("cid")
	case req.PartnerOrderID == "":
		return nil, missing("partner_order_id")
	case req.PartnerUserID == "":
		return nil, missing("partner_user_id")
	case req.ItemName == "":
		return nil, missing("item_name")
	case req.Quantity == nil:
		return nil, missing("quantity")
	case req.TotalAmount == nil:
		return nil, missing("total_amount")
	case req.TaxFreeAmount == nil:
		return nil, missing("tax_free_amount")
	case req.ApprovalURL == "":
		return nil, missing("approval_url")
	case req.CancelURL == "":
		return nil, missing("cancel_url")
	case req.FailURL == "":
		return nil, missing("fail_url")
	}
	for _, c := range []struct{ f, v string }{{"partner_order_id", req.PartnerOrderID},
		{"partner_user_id", req.PartnerUserID}, {"item_name", req.ItemName}} {
		if e := tooLong(c.f, c.v, 100); e != nil {
			return nil, e
		}
	}
	for _, c := range []struct{ f, v string }{{"approval_url", req.ApprovalURL},
		{"cancel_url", req.CancelURL}, {"fail_url", req.FailURL}} {
		if e := tooLong(c.f, c.v, 255); e != nil {
			return nil, e
		}
		if u, err := url.Parse(c.v); err != nil || !u.IsAbs() {
			return nil, fail(codeBadParam, c.f+" must be an absolute URL")
		}
	}
	if len(req.CID) != 10 {
		return nil, fail(codeBadCID, "invalid cid")
	}
	total, taxFree := *req.TotalAmount, *req.TaxFreeAmount
	if req.PaymentMethodType != "" && req.PaymentMethodType != MethodCard && req.PaymentMethodType != MethodMoney {
		return nil, fail(codeUnsupportedPay, "unsupported payment_method_type")
	}
	cc, err := getCIDConfig(ctx, s.db, req.CID)
	if err != nil {
		return nil, internalErr(err)
	}
	switch {
	case total < 0 || *req.Quantity < 0:
		return nil, fail(codeBadTotal, "invalid total_amount")
	case taxFree < 0 || taxFree > total:
		return nil, fail(codeBadAmountInfo, "invalid tax_free_amount")
	case total == 0 && cc.OneTime:
		return nil, fail(codeBadSingleAmt, "total_amount must be positive for a one-time CID")
	}
	vat := defaultVat(total, taxFree)
	if req.VatAmount != nil {
		if *req.VatAmount < 0 || *req.VatAmount > total-taxFree {
			return nil, fail(codeBadAmountInfo, "invalid vat_amount")
		}
		vat = *req.VatAmount
	}
	now := s.clock.Now().Unix()
	p := &payment{
		TID: newID("T"), CID: req.CID, Origin: "ready", Status: stReady,
		PartnerOrderID: req.PartnerOrderID, PartnerUserID: req.PartnerUserID,
		ItemName: req.ItemName, ItemCode: req.ItemCode, Quantity: *req.Quantity,
		Total: total, TaxFree: taxFree, Vat: vat,
		ApprovalURL: req.ApprovalURL, CancelURL: req.CancelURL, FailURL: req.FailURL,
		AllowedMethod: req.PaymentMethodType, CreatedAt: now,
	}
	if err := putPayment(ctx, s.db, p); err != nil {
		return nil, internalErr(err)
	}
	base := s.cfg.PublicURL + "/_sim/pay/" + p.TID
	scheme := "kakaotalk://kakaopay/pg?url=" + url.QueryEscape(base+"/aInfo")
	return readyResp{
		TID:                   p.TID,
		NextRedirectAppURL:    base + "/aInfo",
		NextRedirectMobileURL: base + "/mInfo",
		NextRedirectPCURL:     base + "/info",
		AndroidAppScheme:      scheme,
		IOSAppScheme:          scheme,
		CreatedAt:             fmtTime(now),
	}, nil
}

// loadPayment returns the TID's payment if it belongs to cid (else -721).
func loadPayment(ctx context.Context, q querier, cid, tid string) (*payment, *apiError) {
	if cid == "" {
		return nil, missing("cid")
	}
	if tid == "" {
		return nil, missing("tid")
	}
	p, err := getPayment(ctx, q, tid)
	if errors.Is(err, errNotFound) || (err == nil && p.CID != cid) {
		return nil, fail(codeNoTID, "tid does not exist")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return p, nil
}

func (s *Sim) expired(p *payment) bool {
	return s.clock.Now().Unix() >= p.CreatedAt+int64(ReadyTTL.Seconds())
}

func (s *Sim) approve(ctx context.Context, r *http.Request) (any, *apiError) {
	var req approveReq
	if e := decodeBody(r, &req); e != nil {
		return nil, e
	}
	p, e := loadPayment(ctx, s.db, req.CID, req.TID)
	if e != nil {
		return nil, e
	}
	switch p.Status {
	case stSuccess, stIssuedSID, stPartCancel, stCancel:
		return nil, fail(codeAlreadyPaid, "payment is already done!")
	case stQuit, stFail:
		return nil, fail(codeCannotApprove, "payment cannot be approved in status "+p.Status)
	}
	if p.Origin != "ready" {
		return nil, fail(codeCannotApprove, "tid is not a ready payment")
	}
	if s.expired(p) {
		return nil, fail(codeExpired, "payment expired! (ready is valid for 15 minutes)")
	}
	if p.Status != stAuthPassword {
		return nil, fail(codeNotAuthed, "user has not finished authentication yet")
	}
	if req.PartnerOrderID != p.PartnerOrderID {
		return nil, fail(codeOrderMismatch, "partner_order_id does not match ready")
	}
	if req.PartnerUserID != p.PartnerUserID {
		return nil, fail(codeUserMismatch, "partner_user_id does not match ready")
	}
	if req.PgToken == "" || req.PgToken != p.PgToken {
		return nil, fail(codeBadPgToken, "invalid pg_token")
	}
	if req.TotalAmount != nil && *req.TotalAmount != p.Total {
		return nil, fail(codeBadTotal, "total_amount does not match ready")
	}
	if p.TestCard == CardDecline {
		p.Status = stFail
		if err := putPayment(ctx, s.db, p); err != nil {
			return nil, internalErr(err)
		}
		return nil, issueDecline()
	}
	cc, err := getCIDConfig(ctx, s.db, p.CID)
	if err != nil {
		return nil, internalErr(err)
	}
	now := s.clock.Now().Unix()
	p.AID, p.ApprovedAt, p.Payload = newID("A"), now, req.Payload
	p.ApprovedID = newID("")[:8]
	kind := kindApprove
	p.Status = stSuccess
	if p.Total == 0 {
		kind, p.Status = kindIssuedSID, stIssuedSID
	}
	var key *subscriptionKey
	if !cc.OneTime {
		key = &subscriptionKey{SID: newID("S"), CID: p.CID, PartnerUserID: p.PartnerUserID, Method: p.Method,
			TestCard: p.TestCard, ItemName: p.ItemName, Status: "ACTIVE", CreatedAt: now}
		if p.Total > 0 {
			key.LastApprovedAt = now
		}
		p.SID = key.SID
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := putPayment(ctx, tx, p); err != nil {
			return err
		}
		if key != nil {
			if err := putSID(ctx, tx, key); err != nil {
				return err
			}
		}
		return addAction(ctx, tx, &action{AID: p.AID, TID: p.TID, CID: p.CID, SID: p.SID,
			PartnerOrderID: p.PartnerOrderID, PartnerUserID: p.PartnerUserID, Kind: kind,
			Amount: p.Total, TaxFree: p.TaxFree, Vat: p.Vat, Method: p.Method, Payload: p.Payload, CreatedAt: now})
	})
	if err != nil {
		return nil, internalErr(err)
	}
	return approveResponse(p), nil
}

func approveResponse(p *payment) approveResp {
	return approveResp{
		AID: p.AID, TID: p.TID, CID: p.CID, SID: p.SID,
		PartnerOrderID: p.PartnerOrderID, PartnerUserID: p.PartnerUserID,
		PaymentMethodType: p.Method,
		Amount:            amounts(p.Total, p.TaxFree, p.Vat, p.Method),
		CardInfo:          cardInfoFor(p.Method, p.TestCard, p.ApprovedID),
		ItemName:          p.ItemName, ItemCode: p.ItemCode, Quantity: p.Quantity,
		CreatedAt: fmtTime(p.CreatedAt), ApprovedAt: fmtTime(p.ApprovedAt), Payload: p.Payload,
	}
}

// amounts builds an amount object; Kakao Money payments count as point 0 here
// (the emulator does not model Kakao points or discounts).
func amounts(total, taxFree, vat int64, _ string) amountObj {
	return amountObj{Total: total, TaxFree: taxFree, Vat: vat}
}

func (s *Sim) subscription(ctx context.Context, r *http.Request) (any, *apiError) {
	var req subscriptionReq
	if e := decodeBody(r, &req); e != nil {
		return nil, e
	}
	switch {
	case req.CID == "":
		return nil, missing("cid")
	case req.SID == "":
		return nil, missing("sid")
	case req.PartnerOrderID == "":
		return nil, missing("partner_order_id")
	case req.PartnerUserID == "":
		return nil, missing("partner_user_id")
	case req.Quantity == nil:
		return nil, missing("quantity")
	case req.TotalAmount == nil:
		return nil, missing("total_amount")
	case req.TaxFreeAmount == nil:
		return nil, missing("tax_free_amount")
	}
	key, err := getSID(ctx, s.db, req.SID)
	if errors.Is(err, errNotFound) || (err == nil && key.CID != req.CID) {
		return nil, fail(codeNoSID, "sid does not exist")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if key.Status != "ACTIVE" {
		return nil, fail(codeInactiveSID, "sid is inactive")
	}
	if req.PartnerUserID != key.PartnerUserID {
		return nil, fail(codeSIDUser, "partner_user_id differs from the one that issued the sid")
	}
	total, taxFree := *req.TotalAmount, *req.TaxFreeAmount
	if total <= 0 {
		return nil, fail(codeBadTotal, "invalid total_amount")
	}
	if taxFree < 0 || taxFree > total {
		return nil, fail(codeBadAmountInfo, "invalid tax_free_amount")
	}
	vat := defaultVat(total, taxFree)
	if req.VatAmount != nil {
		if *req.VatAmount < 0 || *req.VatAmount > total-taxFree {
			return nil, fail(codeBadAmountInfo, "invalid vat_amount")
		}
		vat = *req.VatAmount
	}
	now := s.clock.Now()
	cc, err := getCIDConfig(ctx, s.db, req.CID)
	if err != nil {
		return nil, internalErr(err)
	}
	used, err := countCharges(ctx, s.db, key.SID, monthStart(now).Unix())
	if err != nil {
		return nil, internalErr(err)
	}
	if used >= cc.MonthlyLimit {
		return nil, fail(codeMonthlyLimit, "sid exceeded its monthly maximum use count")
	}
	if e := laterDecline(key.Method, key.TestCard); e != nil {
		return nil, e
	}
	itemName := req.ItemName
	if itemName == "" {
		itemName = key.ItemName
	}
	ts := now.Unix()
	p := &payment{
		TID: newID("T"), CID: req.CID, Origin: "subscription", Status: stSuccess,
		PartnerOrderID: req.PartnerOrderID, PartnerUserID: req.PartnerUserID,
		ItemName: itemName, ItemCode: req.ItemCode, Quantity: *req.Quantity,
		Total: total, TaxFree: taxFree, Vat: vat, Method: key.Method, TestCard: key.TestCard,
		ApprovedID: newID("")[:8], SID: key.SID, AID: newID("A"), Payload: req.Payload,
		CreatedAt: ts, ApprovedAt: ts,
	}
	key.LastApprovedAt = ts
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := putPayment(ctx, tx, p); err != nil {
			return err
		}
		if err := putSID(ctx, tx, key); err != nil {
			return err
		}
		return addAction(ctx, tx, &action{AID: p.AID, TID: p.TID, CID: p.CID, SID: p.SID,
			PartnerOrderID: p.PartnerOrderID, PartnerUserID: p.PartnerUserID, Kind: kindSubscription,
			Amount: total, TaxFree: taxFree, Vat: vat, Method: p.Method, Payload: p.Payload, CreatedAt: ts})
	})
	if err != nil {
		return nil, internalErr(err)
	}
	return approveResponse(p), nil
}

func (s *Sim) cancel(ctx context.Context, r *http.Request) (any, *apiError) {
	var req cancelReq
	if e := decodeBody(r, &req); e != nil {
		return nil, e
	}
	p, e := loadPayment(ctx, s.db, req.CID, req.TID)
	if e != nil {
		return nil, e
	}
	switch {
	case req.CancelAmount == nil:
		return nil, missing("cancel_amount")
	case req.CancelTaxFreeAmount == nil:
		return nil, missing("cancel_tax_free_amount")
	}
	if p.Status != stSuccess && p.Status != stPartCancel {
		return nil, fail(codeCannotCancel, "payment cannot be cancelled in status "+p.Status)
	}
	amt, taxFree := *req.CancelAmount, *req.CancelTaxFreeAmount
	remTotal, remTaxFree, remVat := p.Total-p.CanceledTotal, p.TaxFree-p.CanceledTaxFree, p.Vat-p.CanceledVat
	switch {
	case amt <= 0 || taxFree < 0 || taxFree > amt:
		return nil, fail(codeBadAmountInfo, "invalid cancel amount")
	case amt > p.Total:
		return nil, fail(codeOverOriginal, "cancel_amount is greater than the approved amount")
	case amt > remTotal || taxFree > remTaxFree:
		return nil, fail(codeOverCancel, "cancel_amount is greater than the cancellable amount")
	case req.CancelAvailableAmount != nil && *req.CancelAvailableAmount != remTotal:
		return nil, fail(codeOverCancel, "cancel_available_amount does not match the cancellable amount")
	}
	vat := min(defaultVat(amt, taxFree), remVat)
	if amt == remTotal {
		vat = remVat
	}
	if req.CancelVatAmount != nil {
		if *req.CancelVatAmount < 0 || *req.CancelVatAmount > remVat {
			return nil, fail(codeBadAmountInfo, "invalid cancel_vat_amount")
		}
		vat = *req.CancelVatAmount
	}
	now := s.clock.Now().Unix()
	p.CanceledTotal += amt
	p.CanceledTaxFree += taxFree
	p.CanceledVat += vat
	p.CanceledAt = now
	p.Status = stPartCancel
	if p.CanceledTotal == p.Total {
		p.Status = stCancel
	}
	aid := newID("A")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := putPayment(ctx, tx, p); err != nil {
			return err
		}
		return addAction(ctx, tx, &action{AID: aid, TID: p.TID, CID: p.CID, SID: p.SID,
			PartnerOrderID: p.PartnerOrderID, PartnerUserID: p.PartnerUserID, Kind: kindCancel,
			Amount: amt, TaxFree: taxFree, Vat: vat, Method: p.Method, Payload: req.Payload, CreatedAt: now})
	})
	if err != nil {
		return nil, internalErr(err)
	}
	return cancelResp{
		AID: aid, TID: p.TID, CID: p.CID, Status: p.Status,
		PartnerOrderID: p.PartnerOrderID, PartnerUserID: p.PartnerUserID, PaymentMethodType: p.Method,
		Amount:                amounts(p.Total, p.TaxFree, p.Vat, p.Method),
		ApprovedCancelAmount:  amounts(amt, taxFree, vat, p.Method),
		CanceledAmount:        amounts(p.CanceledTotal, p.CanceledTaxFree, p.CanceledVat, p.Method),
		CancelAvailableAmount: amounts(p.Total-p.CanceledTotal, p.TaxFree-p.CanceledTaxFree, p.Vat-p.CanceledVat, p.Method),
		ItemName:              p.ItemName, ItemCode: p.ItemCode, Quantity: p.Quantity,
		CreatedAt: fmtTime(p.CreatedAt), ApprovedAt: optTime(p.ApprovedAt), CanceledAt: fmtTime(now),
		Payload: req.Payload,
	}, nil
}

var actionTypes = map[string]string{
	kindApprove: "PAYMENT", kindSubscription: "PAYMENT", kindIssuedSID: "ISSUED_SID", kindCancel: "CANCEL",
}

func (s *Sim) order(ctx context.Context, r *http.Request) (any, *apiError) {
	var req tidReq
	if e := decodeBody(r, &req); e != nil {
		return nil, e
	}
	p, e := loadPayment(ctx, s.db, req.CID, req.TID)
	if e != nil {
		return nil, e
	}
	acts, err := listActions(ctx, s.db, "tid = ?", p.TID)
	if err != nil {
		return nil, internalErr(err)
	}
	details := make([]actionDetail, 0, len(acts))
	for _, a := range acts {
		details = append(details, actionDetail{AID: a.AID, ApprovedAt: fmtTime(a.CreatedAt), Amount: a.Amount,
			PaymentActionType: actionTypes[a.Kind], Payload: a.Payload})
	}
	resp := orderResp{
		TID: p.TID, CID: p.CID, Status: p.Status,
		PartnerOrderID: p.PartnerOrderID, PartnerUserID: p.PartnerUserID,
		Amount:                amounts(p.Total, p.TaxFree, p.Vat, p.Method),
		CanceledAmount:        amounts(p.CanceledTotal, p.CanceledTaxFree, p.CanceledVat, p.Method),
		CancelAvailableAmount: amounts(p.Total-p.CanceledTotal, p.TaxFree-p.CanceledTaxFree, p.Vat-p.CanceledVat, p.Method),
		ItemName:              p.ItemName, ItemCode: p.ItemCode, Quantity: p.Quantity,
		CreatedAt: fmtTime(p.CreatedAt), ApprovedAt: optTime(p.ApprovedAt), CanceledAt: optTime(p.CanceledAt),
		PaymentActionDetails: details,
	}
	if p.Status != stSuccess && p.Status != stPartCancel && p.Status != stCancel {
		resp.CancelAvailableAmount = amountObj{}
	}
	if p.Method != "" {
		m := p.Method
		resp.PaymentMethodType = &m
	}
	if ci := cardInfoFor(p.Method, p.TestCard, p.ApprovedID); ci != nil {
		resp.SelectedCardInfo = &selectedCardInfo{CardBin: ci.Bin, InstallMonth: 0, InstallmentType: ci.InstallmentType,
			CardCorpName: ci.KakaopayIssuerCorp, InterestFreeInstall: ci.InterestFreeInstall}
	}
	return resp, nil
}

func (s *Sim) loadSID(ctx context.Context, r *http.Request) (*subscriptionKey, *apiError) {
	var req sidReq
	if e := decodeBody(r, &req); e != nil {
		return nil, e
	}
	if req.CID == "" {
		return nil, missing("cid")
	}
	if req.SID == "" {
		return nil, missing("sid")
	}
	key, err := getSID(ctx, s.db, req.SID)
	if errors.Is(err, errNotFound) || (err == nil && key.CID != req.CID) {
		return nil, fail(codeNoSID, "sid does not exist")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return key, nil
}

func (s *Sim) sidStatus(ctx context.Context, r *http.Request) (any, *apiError) {
	key, e := s.loadSID(ctx, r)
	if e != nil {
		return nil, e
	}
	return sidStatusResp{
		Available: key.Status == "ACTIVE", CID: key.CID, SID: key.SID, Status: key.Status,
		PaymentMethodType: key.Method, ItemName: key.ItemName, CreatedAt: fmtTime(key.CreatedAt),
		LastApprovedAt: optTime(key.LastApprovedAt), InactivatedAt: optTime(key.InactivatedAt),
		UsePointStatus: "UNUSED",
	}, nil
}

// inactive deactivates a SID. Deactivating an inactive SID answers the same
// INACTIVE body again (idempotent; the emulator's choice).
func (s *Sim) inactive(ctx context.Context, r *http.Request) (any, *apiError) {
	key, e := s.loadSID(ctx, r)
	if e != nil {
		return nil, e
	}
	if key.Status != "INACTIVE" {
		key.Status = "INACTIVE"
		key.InactivatedAt = s.clock.Now().Unix()
		if err := putSID(ctx, s.db, key); err != nil {
			return nil, internalErr(err)
		}
	}
	return inactiveResp{CID: key.CID, SID: key.SID, Status: key.Status, CreatedAt: fmtTime(key.CreatedAt),
		LastApprovedAt: optTime(key.LastApprovedAt), InactivatedAt: optTime(key.InactivatedAt)}, nil
}
