package kakaopay

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
)

// The hosted approval page stands in for Kakao's payment window at
// next_redirect_{pc,mobile,app}_url. Stable element ids for browser tests:
// #kp-method-card, #kp-method-money (radios), #kp-card (select of test
// cards), #kp-approve, #kp-cancel, #kp-fail (submit buttons).
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>카카오페이 테스트 결제 (Kakao Pay emulator)</title>
<style>
body{font-family:system-ui,sans-serif;background:#f5f5f5;margin:0;padding:1rem}
main{max-width:26rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.1rem;background:#ffeb00;margin:-1.25rem -1.25rem 1rem;padding:1rem 1.25rem;border-radius:12px 12px 0 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#666}dd{margin:0;font-weight:600}
fieldset{border:1px solid #ddd;border-radius:8px;margin:1rem 0}
.buttons{display:flex;gap:.5rem}.buttons button{flex:1;padding:.7rem;border-radius:8px;border:1px solid #ccc;font-size:1rem}
#kp-approve{background:#ffeb00;border-color:#e6d300;font-weight:700}
.note{color:#a00;font-weight:600}.small{color:#777;font-size:.8rem}
</style></head><body><main>
<h1>카카오페이 결제 (Kakao Pay — test emulator)</h1>
<dl>
<dt>상품 (Item)</dt><dd id="kp-item-name">{{.ItemName}}</dd>
<dt>금액 (Amount)</dt><dd id="kp-amount">{{.Amount}}원</dd>
<dt>주문번호 (Order)</dt><dd>{{.PartnerOrderID}}</dd>
{{if .Subscription}}<dt>정기결제 (Billing)</dt><dd>{{if .Zero}}결제수단 등록만 (register only, no charge){{else}}결제 + 등록 (charge and register){{end}}</dd>{{end}}
</dl>
{{if .Message}}<p class="note" id="kp-message">{{.Message}}</p>{{end}}
{{if .Open}}
<form method="post" action="{{.Action}}">
<fieldset><legend>결제수단 (Payment method)</legend>
{{if .AllowCard}}<label><input type="radio" id="kp-method-card" name="method" value="CARD" {{if .CardChecked}}checked{{end}}> 카드 (Card)</label><br>{{end}}
{{if .AllowMoney}}<label><input type="radio" id="kp-method-money" name="method" value="MONEY" {{if not .CardChecked}}checked{{end}}> 카카오머니 (Kakao Money)</label>{{end}}
</fieldset>
<fieldset><legend><label for="kp-card">테스트 시나리오 (Test card)</label></legend>
<select id="kp-card" name="card">
{{range .Cards}}<option id="kp-card-{{.Value}}" value="{{.Value}}">{{.Label}}</option>
{{end}}</select>
<p class="small">decline: 발급(승인) 시 거절 · insufficient/suspended: 등록은 되지만 이후 정기결제가 거절됨</p>
</fieldset>
<div class="buttons">
<button type="submit" id="kp-approve" name="action" value="approve">결제하기 (Approve)</button>
<button type="submit" id="kp-cancel" name="action" value="cancel">취소 (Cancel)</button>
<button type="submit" id="kp-fail" name="action" value="fail">실패 (Fail)</button>
</div>
</form>
{{end}}
<p class="small">TID {{.TID}} · 이 화면은 billkey 테스트 모드의 에뮬레이터입니다. 실제 결제가 일어나지 않습니다.</p>
</main></body></html>`))

type cardOption struct{ Value, Label string }

type pageData struct {
	TID, ItemName, Amount, PartnerOrderID, Action, Message string
	Subscription, Zero, Open                               bool
	AllowCard, AllowMoney, CardChecked                     bool
	Cards                                                  []cardOption
}

func formatWon(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func (s *Sim) renderPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	tid := r.PathValue("tid")
	p, err := getPayment(r.Context(), s.db, tid)
	if errors.Is(err, errNotFound) || (err == nil && p.Origin != "ready") {
		http.Error(w, "결제 정보를 찾을 수 없습니다 (unknown tid)", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	cc, err := getCIDConfig(r.Context(), s.db, p.CID)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d := pageData{
		TID: p.TID, ItemName: p.ItemName, Amount: formatWon(p.Total), PartnerOrderID: p.PartnerOrderID,
		Action: "../" + p.TID, Message: message, Subscription: !cc.OneTime, Zero: p.Total == 0,
		AllowCard:   p.AllowedMethod == "" || p.AllowedMethod == MethodCard,
		AllowMoney:  p.AllowedMethod == "" || p.AllowedMethod == MethodMoney,
		CardChecked: p.AllowedMethod != MethodMoney,
	}
	switch {
	case p.Status != stReady:
		if d.Message == "" {
			d.Message = "이미 처리된 결제입니다 (this payment window is finished: " + p.Status + ")"
		}
	case s.expired(p):
		d.Message = "결제 시간이 만료되었습니다 (payment expired: 15 minutes after ready)"
	default:
		d.Open = true
	}
	for _, c := range testCardOrder {
		d.Cards = append(d.Cards, cardOption{Value: c, Label: testCards[c].label})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// page is GET /_sim/pay/{tid}/{info|mInfo|aInfo}.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("kind") {
	case "info", "mInfo", "aInfo":
	default:
		http.NotFound(w, r)
		return
	}
	s.renderPage(w, r, http.StatusOK, "")
}

// pageSubmit is POST /_sim/pay/{tid}: the page's form. It redirects the
// browser (303) like Kakao does after the window closes.
func (s *Sim) pageSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	resp, e := s.buyerStep(r.Context(), r.PathValue("tid"), buyerReq{
		Action: r.PostForm.Get("action"), Method: r.PostForm.Get("method"), Card: r.PostForm.Get("card"),
	})
	if e != nil {
		if e.status == http.StatusNotFound {
			http.Error(w, "결제 정보를 찾을 수 없습니다 (unknown tid)", http.StatusNotFound)
			return
		}
		s.renderPage(w, r, http.StatusBadRequest, e.msg)
		return
	}
	http.Redirect(w, r, resp.RedirectURL, http.StatusSeeOther)
}
