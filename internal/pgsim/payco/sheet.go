package payco

import (
	"html/template"
	"net/http"
)

var sheetPage = template.Must(template.New("sheet").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PAYCO 자동결제 등록 (test emulator)</title>
<style>
body{font-family:sans-serif;max-width:30em;margin:2em auto;padding:0 1em;color:#222}
.box{border:1px solid #ccc;border-radius:8px;padding:1em;margin:1em 0}
.note{color:#b00;font-weight:bold}
button{font-size:1em;padding:.5em 1em;margin:.3em .3em 0 0}
select{font-size:1em;padding:.3em;width:100%}
</style></head>
<body>
<h1>PAYCO 자동결제 등록</h1>
<p><small>billkey PAYCO emulator — test mode, no real card is used.</small></p>
<div class="box">
<p>상품: <strong id="pc-title">{{.Title}}</strong></p>
<p>표시 금액: <strong id="pc-amount">{{.Amount}}원</strong></p>
<p class="note">Display only: no charge at registration (등록 시 결제되지 않습니다).</p>
<p><small>주문예약번호 {{.No}}</small></p>
</div>
<form method="post" action="{{.No}}/submit">
<label for="pc-card">테스트 카드</label>
<select id="pc-card" name="card">
{{range .Cards}}<option value="{{.ID}}">{{.Label}} — {{.CorpName}} {{.MaskedNo}}</option>
{{end}}</select>
<p>
<button id="pc-register" type="submit" name="action" value="register">등록 (Register)</button>
<button id="pc-cancel" type="submit" name="action" value="cancel">취소 (Cancel)</button>
<button id="pc-fail" type="submit" name="action" value="fail">실패 (Fail)</button>
</p>
</form>
</body></html>`))

var messagePage = template.Must(template.New("msg").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>PAYCO (test emulator)</title></head>
<body style="font-family:sans-serif;max-width:30em;margin:2em auto">
<h1>PAYCO</h1><p id="pc-message">{{.}}</p></body></html>`))

func (s *Sim) handleSheet(w http.ResponseWriter, r *http.Request) {
	rv, ok, err := s.getReserve(r.Context(), r.PathValue("no"))
	if err != nil {
		s.log.Printf("pgsim/payco: order sheet: %v", err)
		showMessage(w, http.StatusInternalServerError, "internal error")
		return
	}
	switch {
	case !ok:
		showMessage(w, http.StatusNotFound, codeMessages[codeReserveNotFound])
		return
	case rv.Status != "reserved":
		showMessage(w, http.StatusConflict, codeMessages[codeReserveUsed])
		return
	case s.now().Unix() > rv.ExpiresAt:
		showMessage(w, http.StatusGone, codeMessages[codeReserveExpired])
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = sheetPage.Execute(w, struct {
		reserveRow
		Cards []testCard
	}{rv, testCards})
}

func (s *Sim) handleSheetSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		showMessage(w, http.StatusBadRequest, "bad form")
		return
	}
	redirect, berr := s.buyerAct(r.Context(), r.PathValue("no"), r.PostForm.Get("action"), r.PostForm.Get("card"))
	if berr != nil {
		showMessage(w, berr.status, berr.msg)
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

func showMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = messagePage.Execute(w, msg)
}
