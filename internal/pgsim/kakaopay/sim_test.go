package kakaopay

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"billkey/internal/clock"
)

const (
	testCID    = "TCSUBSCRIP"
	testSecret = "DEV0123456789ABCDEF"
	mount      = "/pgsim/kakaopay"
)

type env struct {
	t      *testing.T
	srv    *httptest.Server
	clk    *clock.Test
	dbPath string
	mu     sync.Mutex
	sim    *Sim
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewTest(0), dbPath: filepath.Join(t.TempDir(), "kakaopay.db")}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		s := e.sim
		e.mu.Unlock()
		http.StripPrefix(mount, s.Handler()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.start()
	t.Cleanup(func() { e.sim.Close() })
	return e
}

// start opens (or reopens) the Sim on the same DB file.
func (e *env) start() {
	e.t.Helper()
	s, err := New(Config{DBPath: e.dbPath, Clock: e.clk, PublicURL: e.srv.URL + mount, SecretKey: testSecret})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.sim = s
	e.mu.Unlock()
}

func (e *env) restart() {
	e.t.Helper()
	if err := e.sim.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.start()
}

// call POSTs a Kakao API request and decodes the answer into a generic map.
func (e *env) call(path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.do(http.MethodPost, "/online/v1/payment/"+path, "SECRET_KEY "+testSecret, body)
}

func (e *env) do(method, path, auth string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+mount+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatalf("%s %s: undecodable answer %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func (e *env) ready(orderID, userID string, amount int64) map[string]any {
	e.t.Helper()
	st, m := e.call("ready", map[string]any{
		"cid": testCID, "partner_order_id": orderID, "partner_user_id": userID, "item_name": "월간 구독",
		"quantity": 1, "total_amount": amount, "tax_free_amount": 0,
		"approval_url": "http://127.0.0.1:1/ok?x=1", "cancel_url": "http://127.0.0.1:1/cancel",
		"fail_url": "http://127.0.0.1:1/fail",
	})
	if st != 200 {
		e.t.Fatalf("ready: %d %v", st, m)
	}
	return m
}

func (e *env) buyer(tid, action, method, card string) (int, map[string]any) {
	e.t.Helper()
	return e.do(http.MethodPost, "/_sim/buyer/"+tid, "", map[string]string{"action": action, "method": method, "card": card})
}

// issue runs ready → buyer approve → approve and returns the approve answer.
func (e *env) issue(orderID, userID string, amount int64, method, card string) (int, map[string]any) {
	e.t.Helper()
	r := e.ready(orderID, userID, amount)
	tid := r["tid"].(string)
	st, b := e.buyer(tid, ActionApprove, method, card)
	if st != 200 {
		e.t.Fatalf("buyer: %d %v", st, b)
	}
	return e.call("approve", map[string]any{"cid": testCID, "tid": tid, "partner_order_id": orderID,
		"partner_user_id": userID, "pg_token": b["pg_token"]})
}

func errCode(m map[string]any) int {
	f, _ := m["error_code"].(float64)
	return int(f)
}

// The legacy CARD approve sample in kakaopay.md §1.4.2, verbatim.
const specApproveSample = `{"cid":"TC0ONETIME","aid":"A5678901234567890123","tid":"T1234567890123456789",
 "partner_user_id":"partner_user_id","partner_order_id":"partner_order_id",
 "payment_method_type":"CARD","item_name":"카페아메리카노","quantity":1,
 "amount":{"total":3200,"tax_free":0,"vat":0,"discount":0,"point":0},
 "card_info":{"interest_free_install":"N","bin":"621640","card_type":"체크","card_mid":"123456789",
   "approved_id":"12345678","install_month":"00","purchase_corp":"비씨카드","purchase_corp_code":"01",
   "issuer_corp":"수협카드","issuer_corp_code":"13","kakaopay_purchase_corp":"비씨카드",
   "kakaopay_purchase_corp_code":"104","kakaopay_issuer_corp":"수협은행","kakaopay_issuer_corp_code":"212"},
 "created_at":"2019-05-21T11:18:24","approved_at":"2019-05-21T11:18:32"}`

// The new-API error example in kakaopay.md §1.6, verbatim.
const specErrorSample = `{"error_code":-780,"error_message":"approval failure!","extras":{"method_result_code":"USER_LOCKED","method_result_message":"진행중인 거래가 있습니다. 잠시 후 다시 시도해 주세요."}}`

// assertKeys checks that got has every key of want, recursively into objects.
func assertKeys(t *testing.T, where string, want, got map[string]any) {
	t.Helper()
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			t.Errorf("%s: emulator answer lacks key %q", where, k)
			continue
		}
		if wm, ok := wv.(map[string]any); ok {
			gm, ok := gv.(map[string]any)
			if !ok {
				t.Errorf("%s.%s: want an object, got %T", where, k, gv)
				continue
			}
			assertKeys(t, where+"."+k, wm, gm)
		}
	}
}

func keysOf(list string) map[string]any {
	m := map[string]any{}
	for _, k := range strings.Fields(list) {
		m[k] = nil
	}
	return m
}

func TestSpecShapes(t *testing.T) {
	e := newEnv(t)
	var want map[string]any
	if err := json.Unmarshal([]byte(specApproveSample), &want); err != nil {
		t.Fatal(err)
	}
	r := e.ready("o-shape", "u-shape", 3200)
	assertKeys(t, "ready", keysOf("tid next_redirect_app_url next_redirect_mobile_url next_redirect_pc_url android_app_scheme ios_app_scheme created_at"), r)
	if !strings.HasPrefix(r["next_redirect_pc_url"].(string), e.srv.URL+mount+"/") {
		t.Errorf("pc url %v not under the public URL", r["next_redirect_pc_url"])
	}
	if tid := r["tid"].(string); len(tid) != 20 || tid[0] != 'T' {
		t.Errorf("tid %q: want 20 chars starting with T", tid)
	}
	tid := r["tid"].(string)
	_, b := e.buyer(tid, ActionApprove, MethodCard, CardNormal)
	st, got := e.call("approve", map[string]any{"cid": testCID, "tid": tid, "partner_order_id": "o-shape",
		"partner_user_id": "u-shape", "pg_token": b["pg_token"]})
	if st != 200 {
		t.Fatalf("approve: %d %v", st, got)
	}
	assertKeys(t, "approve", want, got)
	if sid, _ := got["sid"].(string); len(sid) != 20 || sid[0] != 'S' {
		t.Errorf("sid: want 20 chars starting with S")
	}
	if _, err := time.ParseInLocation(kakaoTime, got["approved_at"].(string), kst); err != nil {
		t.Errorf("approved_at: %v", err)
	}

	st, got = e.call("order", map[string]any{"cid": testCID, "tid": tid})
	if st != 200 {
		t.Fatalf("order: %d %v", st, got)
	}
	assertKeys(t, "order", keysOf("tid cid status partner_order_id partner_user_id payment_method_type amount "+
		"canceled_amount cancel_available_amount item_name item_code quantity created_at approved_at canceled_at "+
		"selected_card_info payment_action_details"), got)
	det := got["payment_action_details"].([]any)[0].(map[string]any)
	assertKeys(t, "order.payment_action_details", keysOf("aid approved_at amount point_amount discount_amount payment_action_type payload"), det)

	st, got = e.call("cancel", map[string]any{"cid": testCID, "tid": tid, "cancel_amount": 1000, "cancel_tax_free_amount": 0})
	if st != 200 {
		t.Fatalf("cancel: %d %v", st, got)
	}
	assertKeys(t, "cancel", keysOf("aid tid cid status partner_order_id partner_user_id payment_method_type amount "+
		"approved_cancel_amount canceled_amount cancel_available_amount item_name item_code quantity created_at "+
		"approved_at canceled_at payload"), got)
	assertKeys(t, "cancel.amount", keysOf("total tax_free vat point discount"), got["canceled_amount"].(map[string]any))

	var wantErr map[string]any
	_ = json.Unmarshal([]byte(specErrorSample), &wantErr)
	st, got = e.issue("o-decl", "u-decl", 1000, MethodCard, CardDecline)
	if st != 400 || errCode(got) != -780 {
		t.Fatalf("decline: %d %v", st, got)
	}
	assertKeys(t, "error", wantErr, got)
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	for _, auth := range []string{"", "SECRET_KEY wrong", "KakaoAK " + testSecret, "SECRET_KEY "} {
		st, m := e.do(http.MethodPost, "/online/v1/payment/ready", auth, map[string]any{"cid": testCID})
		if st != 401 || errCode(m) != -401 || m["error_message"] == "" {
			t.Errorf("auth %q: %d %v", auth, st, m)
		}
	}
}

func TestApproveRules(t *testing.T) {
	e := newEnv(t)
	r := e.ready("o1", "u1", 0)
	tid := r["tid"].(string)
	approve := func(order, user, token string) (int, map[string]any) {
		return e.call("approve", map[string]any{"cid": testCID, "tid": tid, "partner_order_id": order,
			"partner_user_id": user, "pg_token": token})
	}
	if st, m := approve("o1", "u1", "0123456789abcdef0123"); st != 400 || errCode(m) != -701 {
		t.Fatalf("before buyer: %d %v", st, m)
	}
	_, b := e.buyer(tid, ActionApprove, MethodMoney, CardNormal)
	token := b["pg_token"].(string)
	if len(token) != 20 {
		t.Errorf("pg_token %q: want 20 hex", token)
	}
	if u, _ := url.Parse(b["redirect_url"].(string)); u.Query().Get("pg_token") != token || u.Query().Get("x") != "1" {
		t.Errorf("redirect_url %v", b["redirect_url"])
	}
	if st, m := approve("o2", "u1", token); errCode(m) != -706 {
		t.Errorf("order mismatch: %d %v", st, m)
	}
	if st, m := approve("o1", "u2", token); errCode(m) != -707 {
		t.Errorf("user mismatch: %d %v", st, m)
	}
	if st, m := approve("o1", "u1", "ffffffffffffffffffff"); errCode(m) != -708 {
		t.Errorf("bad token: %d %v", st, m)
	}
	if st, m := e.call("approve", map[string]any{"cid": "TCOTHERCID", "tid": tid}); errCode(m) != -721 {
		t.Errorf("other cid: %d %v", st, m)
	}
	st, m := approve("o1", "u1", token)
	if st != 200 || m["payment_method_type"] != MethodMoney || m["card_info"] != nil {
		t.Fatalf("approve: %d %v", st, m)
	}
	if st, m := approve("o1", "u1", token); errCode(m) != -702 {
		t.Errorf("second approve: %d %v", st, m)
	}
	_, o := e.call("order", map[string]any{"cid": testCID, "tid": tid})
	if o["status"] != stIssuedSID {
		t.Errorf("order status %v, want ISSUED_SID", o["status"])
	}
	if st, m := e.buyer(tid, ActionApprove, MethodCard, CardNormal); st != 400 {
		t.Errorf("buyer after approval: %d %v", st, m)
	}
}

func TestPageAndForm(t *testing.T) {
	e := newEnv(t)
	r := e.ready("o-page", "u-page", 12000)
	resp, err := http.Get(r["next_redirect_pc_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(body)
	for _, want := range []string{`id="kp-method-card"`, `id="kp-method-money"`, `id="kp-card"`, `id="kp-approve"`,
		`id="kp-cancel"`, `id="kp-fail"`, "월간 구독", "12,000", `value="insufficient"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Errorf("page references an external asset")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tid := r["tid"].(string)
	resp, err = noRedirect.PostForm(e.srv.URL+mount+"/_sim/pay/"+tid, url.Values{
		"action": {"approve"}, "method": {"CARD"}, "card": {"suspended"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Path != "/ok" || loc.Query().Get("pg_token") == "" {
		t.Fatalf("form approve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The page for a finished window shows no buttons.
	resp, _ = http.Get(r["next_redirect_mobile_url"].(string))
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `id="kp-approve"`) {
		t.Errorf("finished window still offers Approve")
	}
	// Cancel and fail redirect to their URLs.
	for action, path := range map[string]string{"cancel": "/cancel", "fail": "/fail"} {
		r := e.ready("o-"+action, "u", 100)
		resp, err := noRedirect.PostForm(e.srv.URL+mount+"/_sim/pay/"+r["tid"].(string), url.Values{"action": {action}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != 303 || loc.Path != path {
			t.Errorf("%s: %d %s", action, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestLedgerCIDConfigAndRestart(t *testing.T) {
	e := newEnv(t)
	if st, m := e.do(http.MethodPut, "/_sim/cids/"+testCID, "", map[string]any{"monthly_limit": 1}); st != 200 || m["monthly_limit"] != 1.0 {
		t.Fatalf("put cid: %d %v", st, m)
	}
	_, a := e.issue("o-l0", "u-l", 500, MethodCard, CardNormal)
	sid := a["sid"].(string)
	charge := func(order string) (int, map[string]any) {
		return e.call("subscription", map[string]any{"cid": testCID, "sid": sid, "partner_order_id": order,
			"partner_user_id": "u-l", "item_name": "x", "quantity": 1, "total_amount": 700, "tax_free_amount": 0})
	}
	if st, m := charge("o-l1"); st != 200 {
		t.Fatalf("charge: %d %v", st, m)
	}
	e.restart()
	if st, m := charge("o-l2"); errCode(m) != -752 {
		t.Fatalf("limit after restart: %d %v", st, m)
	}
	_, m := e.do(http.MethodGet, "/_sim/cids/"+testCID, "", nil)
	if m["monthly_limit"] != 1.0 {
		t.Errorf("cid config lost on restart: %v", m)
	}
	var list []map[string]any
	resp, err := http.Get(e.srv.URL + mount + "/_sim/ledger?cid=" + testCID)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 2 || list[0]["kind"] != kindApprove || list[1]["kind"] != kindSubscription || list[1]["amount"] != 700.0 {
		t.Fatalf("ledger: %v", list)
	}
	for _, k := range strings.Fields("tid aid cid sid partner_order_id partner_user_id amount kind payment_method created_at") {
		if _, ok := list[1][k]; !ok {
			t.Errorf("ledger entry lacks %s", k)
		}
	}
	resp, _ = http.Get(e.srv.URL + mount + "/_sim/ledger?partner_order_id=o-l1")
	list = nil
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 1 || list[0]["partner_order_id"] != "o-l1" {
		t.Errorf("filtered ledger: %v", list)
	}
}

func TestFormatWon(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -5000: "-5,000"} {
		if got := formatWon(in); got != want {
			t.Errorf("formatWon(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentApproveAndLimit(t *testing.T) {
	e := newEnv(t)
	r := e.ready("o-conc", "u-conc", 1000)
	tid := r["tid"].(string)
	_, b := e.buyer(tid, ActionApprove, MethodCard, CardNormal)
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, m := e.call("approve", map[string]any{"cid": testCID, "tid": tid, "partner_order_id": "o-conc",
				"partner_user_id": "u-conc", "pg_token": b["pg_token"]})
			if st == 200 {
				codes <- 0
				return
			}
			codes <- errCode(m)
		}()
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		switch c {
		case 0:
			ok++
		case -702:
		default:
			t.Errorf("unexpected code %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d approvals succeeded, want 1", ok)
	}

	// Parallel charges never exceed the monthly limit.
	e.do(http.MethodPut, "/_sim/cids/"+testCID, "", map[string]any{"monthly_limit": 3})
	_, a := e.issue("o-conc2", "u-conc2", 0, MethodCard, CardNormal)
	paid := make(chan bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := e.call("subscription", map[string]any{"cid": testCID, "sid": a["sid"], "partner_order_id": "o-par-" + string(rune('a'+i)),
				"partner_user_id": "u-conc2", "quantity": 1, "total_amount": 100, "tax_free_amount": 0})
			paid <- st == 200
		}()
	}
	wg.Wait()
	close(paid)
	count := 0
	for p := range paid {
		if p {
			count++
		}
	}
	if count != 3 {
		t.Errorf("%d charges succeeded, want 3", count)
	}
}
