package kakaopay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Buyer actions on the approval page / buyer step.
const (
	ActionApprove = "approve"
	ActionCancel  = "cancel"
	ActionFail    = "fail"
)

type buyerReq struct {
	Action string `json:"action"`
	Method string `json:"method"`
	Card   string `json:"card"`
}

type buyerResp struct {
	RedirectURL string `json:"redirect_url"`
	PgToken     string `json:"pg_token,omitempty"`
}

// buyerStep does what the buyer does in Kakao's window: approve (with a method
// and a test card), cancel or fail. It returns where Kakao sends the browser.
func (s *Sim) buyerStep(ctx context.Context, tid string, req buyerReq) (buyerResp, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := getPayment(ctx, s.db, tid)
	if errors.Is(err, errNotFound) || (err == nil && p.Origin != "ready") {
		return buyerResp{}, &apiError{status: http.StatusNotFound, code: codeNoTID, msg: "tid does not exist"}
	}
	if err != nil {
		return buyerResp{}, internalErr(err)
	}
	if p.Status != stReady {
		return buyerResp{}, fail(codeCannotApprove, "this payment window is already finished (status "+p.Status+")")
	}
	if s.expired(p) {
		return buyerResp{}, fail(codeExpired, "payment expired! (ready is valid for 15 minutes)")
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = MethodCard
		if p.AllowedMethod != "" {
			method = p.AllowedMethod
		}
	}
	if method != MethodCard && method != MethodMoney {
		return buyerResp{}, fail(codeBadParam, "method must be CARD or MONEY")
	}
	if p.AllowedMethod != "" && method != p.AllowedMethod {
		return buyerResp{}, fail(codeUnsupportedPay, "this payment only allows "+p.AllowedMethod)
	}
	card := req.Card
	if card == "" {
		card = CardNormal
	}
	if _, ok := testCards[card]; !ok {
		return buyerResp{}, fail(codeBadParam, "card must be one of normal, decline, insufficient, suspended")
	}
	var resp buyerResp
	switch req.Action {
	case ActionApprove:
		p.Status, p.Method, p.TestCard, p.PgToken = stAuthPassword, method, card, newPgToken()
		resp = buyerResp{RedirectURL: withQuery(p.ApprovalURL, "pg_token", p.PgToken), PgToken: p.PgToken}
	case ActionCancel:
		p.Status = stQuit
		resp = buyerResp{RedirectURL: p.CancelURL}
	case ActionFail:
		p.Status = stFail
		resp = buyerResp{RedirectURL: p.FailURL}
	default:
		return buyerResp{}, fail(codeBadParam, "action must be approve, cancel or fail")
	}
	if err := putPayment(ctx, s.db, p); err != nil {
		return buyerResp{}, internalErr(err)
	}
	return resp, nil
}

// withQuery appends k=v to u, keeping any query u already has.
func withQuery(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}

// buyer is POST /_sim/buyer/{tid}: the headless buyer step.
func (s *Sim) buyer(w http.ResponseWriter, r *http.Request) {
	var req buyerReq
	if e := decodeBody(r, &req); e != nil {
		writeErr(w, e)
		return
	}
	resp, e := s.buyerStep(r.Context(), r.PathValue("tid"), req)
	if e != nil {
		writeErr(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
