package testpg

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"html/template"
	"net/http"
	"net/url"
)

// openWindowReq is POST /v1/windows.
type openWindowReq struct {
	OrderID     string `json:"order_id"`
	CustomerUID string `json:"customer_uid"`
	Amount      int64  `json:"amount"`
	Name        string `json:"name"`
	ReturnURL   string `json:"return_url"`
	CancelURL   string `json:"cancel_url"`
	FailURL     string `json:"fail_url"`
}

type windowRow struct {
	ID, OrderID, CustomerUID string
	Amount                   int64
	Name                     string
	ReturnURL, CancelURL     string
	FailURL, Status          string
	Card, TokenHash          string
	CreatedAt, ExpiresAt     int64
}

const windowCols = `window_id, order_id, customer_uid, amount, name, return_url, cancel_url, fail_url, status, card, token_hash, created_at, expires_at`

func getWindow(ctx context.Context, q queryer, id string) (windowRow, bool, error) {
	var w windowRow
	err := q.QueryRowContext(ctx, `SELECT `+windowCols+` FROM tp_windows WHERE window_id = ?`, id).Scan(&w.ID, &w.OrderID,
		&w.CustomerUID, &w.Amount, &w.Name, &w.ReturnURL, &w.CancelURL, &w.FailURL, &w.Status, &w.Card, &w.TokenHash,
		&w.CreatedAt, &w.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return w, false, nil
	}
	return w, err == nil, err
}

func absURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// handleOpenWindow is POST /v1/windows → {window_id, url}. Issuance through
// the window never charges; amount is shown only.
func (s *Sim) handleOpenWindow(w http.ResponseWriter, r *http.Request) {
	var req openWindowReq
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.OrderID == "":
		writeErr(w, http.StatusBadRequest, codeBadRequest, "order_id is required")
		return
	case !absURL(req.ReturnURL):
		writeErr(w, http.StatusBadRequest, codeBadRequest, "return_url must be an absolute http(s) URL")
		return
	case req.CancelURL != "" && !absURL(req.CancelURL), req.FailURL != "" && !absURL(req.FailURL):
		writeErr(w, http.StatusBadRequest, codeBadRequest, "cancel_url and fail_url must be absolute http(s) URLs")
		return
	case req.Amount < 0:
		writeErr(w, http.StatusBadRequest, codeBadRequest, "amount must not be negative")
		return
	}
	now := s.now()
	id := "tpw_" + randHex(10)
	if _, err := s.db.ExecContext(r.Context(), `INSERT INTO tp_windows (`+windowCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		id, req.OrderID, req.CustomerUID, req.Amount, req.Name, req.ReturnURL, req.CancelURL, req.FailURL, "open", "", "",
		now.Unix(), now.Add(windowTTL).Unix()); err != nil {
		s.internal(w, "open window", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"window_id": id, "url": s.publicURL + "/window/" + id,
		"expires_at": now.Add(windowTTL).Unix()})
}

// buyerError is why a buyer step could not run.
type buyerError struct {
	status int
	code   string
	msg    string
}

// buyerAct performs what the buyer does in the window: approve with a card,
// cancel, or fail. It returns where the browser goes next.
func (s *Sim) buyerAct(ctx context.Context, id, action, cardNumber string) (string, *buyerError) {
	internal := func(err error) *buyerError {
		s.log.Printf("pgsim/testpg: buyer: %v", err)
		return &buyerError{http.StatusInternalServerError, codeInternal, "internal error"}
	}
	win, ok, err := getWindow(ctx, s.db, id)
	if err != nil {
		return "", internal(err)
	}
	if !ok {
		return "", &buyerError{http.StatusNotFound, codeWindowNotFound, "결제창을 찾을 수 없습니다 (no such window)"}
	}
	if win.Status != "open" {
		return "", &buyerError{http.StatusConflict, codeWindowUsed, "이미 처리된 결제창입니다 (window already used)"}
	}
	if s.now().Unix() > win.ExpiresAt {
		return "", &buyerError{http.StatusGone, codeWindowExpired, "결제창이 만료되었습니다 (window expired)"}
	}
	params := url.Values{"window_id": {win.ID}, "order_id": {win.OrderID}}
	var target, status, d, tokenHash string
	switch action {
	case "approve":
		if cardNumber == "" {
			cardNumber = cardOK
		}
		var ok bool
		if d, ok = cardDigits(cardNumber); !ok {
			return "", &buyerError{http.StatusBadRequest, codeBadRequest, "card must be a card number, e.g. 4242-4242-4242-4242"}
		}
		token := randHex(16)
		tokenHash = hashSecret(token)
		params.Set("token", token)
		target, status = win.ReturnURL, "approved"
	case "cancel":
		params.Set("code", "USER_CANCEL")
		params.Set("message", "사용자가 결제창을 닫았습니다 (buyer cancelled)")
		target, status = firstNonEmpty(win.CancelURL, win.FailURL, win.ReturnURL), "cancelled"
	case "fail":
		params.Set("code", "WINDOW_FAIL")
		params.Set("message", "결제창 오류 (window failed)")
		target, status = firstNonEmpty(win.FailURL, win.ReturnURL), "failed"
	default:
		return "", &buyerError{http.StatusBadRequest, codeBadRequest, `action must be "approve", "cancel" or "fail"`}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE tp_windows SET status = ?, card = ?, token_hash = ? WHERE window_id = ? AND status = 'open'`,
		status, d, tokenHash, win.ID)
	if err != nil {
		return "", internal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", &buyerError{http.StatusConflict, codeWindowUsed, "이미 처리된 결제창입니다 (window already used)"}
	}
	return withParams(target, params), nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// withParams adds p to target's query (p wins on a clash).
func withParams(target string, p url.Values) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	for k, vs := range p {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// handleBuyer is the headless buyer step:
// POST /_sim/buyer/{window_id} {"action": "approve"|"cancel"|"fail", "card": "..."} → {"redirect_url": ...}.
func (s *Sim) handleBuyer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		Card   string `json:"card"`
	}
	if !decode(w, r, &req) {
		return
	}
	redirect, berr := s.buyerAct(r.Context(), r.PathValue("id"), req.Action, req.Card)
	if berr != nil {
		writeErr(w, berr.status, berr.code, berr.msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect_url": redirect})
}

// handleCompleteWindow is POST /v1/windows/{id}/complete {token}: issues the
// key for the card chosen in the window, once. It answers like POST /v1/keys.
func (s *Sim) handleCompleteWindow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if !decode(w, r, &req) {
		return
	}
	ctx := r.Context()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.internal(w, "complete window", err)
		return
	}
	defer tx.Rollback()
	win, ok, err := getWindow(ctx, tx, r.PathValue("id"))
	if err != nil {
		s.internal(w, "complete window", err)
		return
	}
	switch {
	case !ok:
		writeErr(w, http.StatusNotFound, codeWindowNotFound, "결제창을 찾을 수 없습니다 (no such window)")
		return
	case win.TokenHash == "" || req.Token == "" ||
		subtle.ConstantTimeCompare([]byte(hashSecret(req.Token)), []byte(win.TokenHash)) != 1:
		writeErr(w, http.StatusForbidden, codeBadToken, "잘못된 토큰 (bad token)")
		return
	case win.Status != "approved":
		writeErr(w, http.StatusConflict, codeWindowUsed, "이미 사용된 토큰입니다 (token already used)")
		return
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tp_windows SET status = 'completed' WHERE window_id = ?`, win.ID); err != nil {
		s.internal(w, "complete window", err)
		return
	}
	c := cardBehaviour(behaviourID(win.Card))
	if c.IssueDecline != nil {
		if err := tx.Commit(); err != nil {
			s.internal(w, "complete window", err)
			return
		}
		writeJSON(w, http.StatusPaymentRequired, apiError{Code: c.IssueDecline.Code, Message: c.IssueDecline.Message})
		return
	}
	key, resp, row := s.newKey(win.Card, win.CustomerUID)
	if err := insertKey(ctx, tx, row); err != nil {
		s.internal(w, "complete window", err)
		return
	}
	if err := tx.Commit(); err != nil {
		s.internal(w, "complete window", err)
		return
	}
	resp.BillingKey = key
	writeJSON(w, http.StatusOK, resp)
}

// The buyer's page: plain HTML, no external assets, no script needed.
var pageTmpl = template.Must(template.New("window").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>testpg 카드 등록</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}.box{border:1px solid #ccc;border-radius:.5rem;padding:1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#666}dd{margin:0}
select,button{font-size:1rem;padding:.5rem;margin:.3rem 0;width:100%}
#tp-approve{background:#1a5;color:#fff;border:0;border-radius:.3rem}
.note{color:#666;font-size:.85rem}.err{color:#b00}
</style></head><body>
<h1>testpg — 정기결제 카드 등록 (test PG)</h1>
<div class="box">
{{if .Err}}<p class="err" id="tp-error">{{.Err}}</p>{{else}}
<dl><dt>상품</dt><dd id="tp-name">{{.Name}}</dd><dt>금액</dt><dd id="tp-amount">{{.Amount}}원</dd></dl>
<p class="note">카드 등록만 하며 결제되지 않습니다 (issuance never charges).</p>
<form method="post" action="{{.Action}}">
<label for="tp-card">테스트 카드</label>
<select id="tp-card" name="card">{{range .Cards}}<option value="{{.Value}}">{{.Value}} — {{.Label}}</option>{{end}}</select>
<button id="tp-approve" type="submit" name="action" value="approve">카드 등록 (approve)</button>
<button id="tp-cancel" type="submit" name="action" value="cancel">취소 (cancel)</button>
<button id="tp-fail" type="submit" name="action" value="fail">실패 (fail)</button>
</form>{{end}}
</div></body></html>
`))

type pageCard struct{ Value, Label string }

type pageData struct {
	Err, Name, Amount, Action string
	Cards                     []pageCard
}

func (s *Sim) handleWindowPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	win, ok, err := getWindow(r.Context(), s.db, id)
	if err != nil {
		s.log.Printf("pgsim/testpg: window page: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	data := pageData{Action: s.publicURL + "/window/" + url.PathEscape(id)}
	status := http.StatusOK
	switch {
	case !ok:
		status, data.Err = http.StatusNotFound, "결제창을 찾을 수 없습니다 (no such window)"
	case win.Status != "open":
		status, data.Err = http.StatusConflict, "이미 처리된 결제창입니다 (window already used)"
	case s.now().Unix() > win.ExpiresAt:
		status, data.Err = http.StatusGone, "결제창이 만료되었습니다 (window expired)"
	default:
		data.Name, data.Amount = win.Name, formatWon(win.Amount)
		for _, c := range testCards {
			data.Cards = append(data.Cards, pageCard{formatCard(c.Number), c.Label})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, data)
}

// handleWindowSubmit is the page's form: it performs the buyer step and
// redirects the browser.
func (s *Sim) handleWindowSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	redirect, berr := s.buyerAct(r.Context(), r.PathValue("id"), r.PostForm.Get("action"), r.PostForm.Get("card"))
	if berr != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(berr.status)
		_ = pageTmpl.Execute(w, pageData{Err: berr.msg})
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// formatWon writes 12345 as 12,345.
func formatWon(n int64) string {
	var s []byte
	neg := n < 0
	if neg {
		n = -n
	}
	d := []byte{}
	for i := 0; n > 0 || i == 0; i++ {
		if i > 0 && i%3 == 0 {
			d = append(d, ',')
		}
		d = append(d, byte('0'+n%10))
		n /= 10
	}
	if neg {
		s = append(s, '-')
	}
	for i := len(d) - 1; i >= 0; i-- {
		s = append(s, d[i])
	}
	return string(s)
}
