package payco_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"billkey/internal/clock"
	sim "billkey/internal/pgsim/payco"
)

type fixture struct {
	t   *testing.T
	srv *httptest.Server
	clk *clock.Test
}

// newFixture mounts the Sim under /pgsim/payco the way billkey does.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: clock.NewTest(0)}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	s, err := sim.New(sim.Config{DBPath: filepath.Join(t.TempDir(), "sim.db"), Clock: f.clk, PublicURL: f.srv.URL + "/pgsim/payco"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mux.Handle("/pgsim/payco/", http.StripPrefix("/pgsim/payco", s.Handler()))
	return f
}

// post sends a raw JSON body and returns the decoded envelope as a map.
func (f *fixture) post(path, body string) map[string]any {
	f.t.Helper()
	resp, err := http.Post(f.srv.URL+"/pgsim/payco"+path, "application/json;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s: HTTP %d", path, resp.StatusCode)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		f.t.Fatalf("%s: %v", path, err)
	}
	return m
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func wantCode(t *testing.T, m map[string]any, code float64) {
	t.Helper()
	if m["code"] != code {
		t.Fatalf("want code %v, got %v", code, m)
	}
	if _, ok := m["message"].(string); !ok {
		t.Fatalf("envelope without message: %v", m)
	}
}

func wantKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing key %q in %v", what, k, m)
		}
	}
}

// reserve sends the reserve body of payco.md §1.5 (devcenter table + official sample).
func (f *fixture) reserve(ref string) (no, sheet string) {
	f.t.Helper()
	m := f.post("/outseller/autoPayment/reserve", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "cpId": "AUTOPAY_CP", "sellerAutoPaymentReferenceKey": ref,
		"currency": "KRW", "totalPaymentAmt": 1500.0, "returnUrl": "http://127.0.0.1:9/return?a=1",
		"returnUrlParam": `{"imp_uid":"` + ref + `"}`, "orderMethod": "EASYPAY_F", "orderChannel": "PC",
		"inAppYn": "N", "customUrlSchemeUseYn": "N", "orderTitle": "정기구독",
		"extraData": `{"viewOptions":{"showMobileTopGnbYn":"N","iframeYn":"N"}}`,
	}))
	wantCode(f.t, m, 0)
	if m["message"] != "success" {
		f.t.Fatalf("success message %v", m["message"])
	}
	res := m["result"].(map[string]any)
	wantKeys(f.t, "reserve result", res, "reserveOrderNo", "orderSheetUrl")
	return res["reserveOrderNo"].(string), res["orderSheetUrl"].(string)
}

func (f *fixture) buyer(no, action, card string) (int, url.Values) {
	f.t.Helper()
	resp, err := http.Post(f.srv.URL+"/pgsim/payco/_sim/buyer/"+no, "application/json",
		bytes.NewReader([]byte(mustJSON(map[string]string{"action": action, "card": card}))))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	u, err := url.Parse(out["redirect_url"])
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, u.Query()
}

// register runs reserve + buyer and returns (certify key, autoPaymentNo).
func (f *fixture) register(ref, card string) (string, string) {
	f.t.Helper()
	no, _ := f.reserve(ref)
	status, q := f.buyer(no, "register", card)
	if status != http.StatusOK {
		f.t.Fatalf("buyer: HTTP %d", status)
	}
	m := f.post("/outseller/autoPayment/info", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "sellerAutoPaymentReferenceKey": ref, "autoPaymentCertifyKey": q.Get("autoPaymentCertifyKey")}))
	wantCode(f.t, m, 0)
	res := m["result"].(map[string]any)
	return q.Get("autoPaymentCertifyKey"), res["autoPaymentNo"].(string)
}

func (f *fixture) pay(apNo, certify, ref string, amount any) map[string]any {
	f.t.Helper()
	return f.post("/outseller/autoPayment/payment", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "autoPaymentNo": apNo, "autoPaymentCertifyKey": certify,
		"sellerOrderReferenceKey": ref, "sellerOrderReferenceKeyType": "UNIQUE_KEY", "currency": "KRW",
		"totalPaymentAmt": amount, "totalTaxfreeAmt": 0, "totalTaxableAmt": 1363, "totalVatAmt": 137, "orderTitle": "정기구독 1월",
		"orderProducts": []map[string]any{{"cpId": "AUTOPAY_CP", "productId": "PROD_AUTO", "productAmt": amount,
			"productPaymentAmt": amount, "orderQuantity": 1, "sortOrdering": 1, "productName": "정기구독",
			"sellerOrderProductReferenceKey": ref + "_p1", "taxationType": "TAXATION"}},
	}))
}

func TestWireShapesMatchSpec(t *testing.T) {
	f := newFixture(t)
	no, sheet := f.reserve("ref_1")
	if !strings.HasPrefix(sheet, f.srv.URL+"/pgsim/payco/easyLogin/") || !strings.HasSuffix(sheet, "/"+no) {
		t.Fatalf("orderSheetUrl %q", sheet)
	}
	status, q := f.buyer(no, "register", "normal")
	if status != http.StatusOK {
		t.Fatalf("buyer HTTP %d", status)
	}
	for _, k := range []string{"code", "message", "reserveOrderNo", "sellerAutoPaymentReferenceKey", "autoPaymentCertifyKey", "imp_uid", "a"} {
		if q.Get(k) == "" {
			t.Errorf("returnUrl lacks %q: %v", k, q)
		}
	}
	if q.Get("code") != "0" {
		t.Fatalf("return code %v", q)
	}
	m := f.post("/outseller/autoPayment/info", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "sellerAutoPaymentReferenceKey": "ref_1", "autoPaymentCertifyKey": q.Get("autoPaymentCertifyKey")}))
	wantCode(t, m, 0)
	info := m["result"].(map[string]any)
	wantKeys(t, "info result", info, "sellerAutoPaymentReferenceKey", "autoPaymentCertifyKey", "autoPaymentNo",
		"paymentMethodCode", "paymentMethodName", "pinNo", "corporationCode", "corporationName", "registYmdt")
	certify, apNo := q.Get("autoPaymentCertifyKey"), info["autoPaymentNo"].(string)

	// Amounts may come as 1500.0 (payco.md §1.1).
	m = f.pay(apNo, certify, "order_1", 1500.0)
	wantCode(t, m, 0)
	res := m["result"].(map[string]any)
	wantKeys(t, "payment result", res, "sellerOrderReferenceKey", "orderNo", "memberName", "memberEmail", "orderChannel",
		"totalOrderAmt", "totalDeliveryFeeAmt", "totalRemoteAreaDeliveryFeeAmt", "totalPaymentAmt", "orderProducts",
		"paymentDetails", "orderCertifyKey", "paymentCompletionYn", "paymentCompleteYmdt")
	if ts := res["paymentCompleteYmdt"].(string); len(ts) != 14 {
		t.Errorf("paymentCompleteYmdt %q is not yyyyMMddHHmmss", ts)
	}
	prod := res["orderProducts"].([]any)[0].(map[string]any)
	wantKeys(t, "orderProducts[]", prod, "orderProductNo", "sellerOrderProductReferenceKey", "orderProductStatusCode",
		"orderProductStatusName", "cpId", "productId", "productKindCode", "productPaymentAmt", "originalProductPaymentAmt")
	det := res["paymentDetails"].([]any)[0].(map[string]any)
	wantKeys(t, "paymentDetails[]", det, "paymentTradeNo", "paymentMethodCode", "paymentMethodName", "paymentAmt",
		"taxfreeAmt", "taxableAmt", "vatAmt", "serviceAmt", "tradeYmdt", "pgAdmissionNo", "pgAdmissionYmdt", "easyPaymentYn", "cardSettleInfo")
	if det["taxableAmt"] != 1363.0 || det["vatAmt"] != 137.0 {
		t.Errorf("VAT split %v/%v, want 1363/137", det["taxableAmt"], det["vatAmt"])
	}
	wantKeys(t, "cardSettleInfo", det["cardSettleInfo"].(map[string]any), "cardCompanyName", "cardCompanyCode", "cardNo",
		"cardInstallmentMonthNumber", "cardAdmissionNo", "cardInterestFreeYn", "corporateCardYn", "partCancelPossibleYn")

	m = f.post("/outseller/payment/approval/getDetailForVerify", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "sellerOrderReferenceKey": "order_1"}))
	wantCode(t, m, 0)
	if m["result"].(map[string]any)["orderNo"] != res["orderNo"] {
		t.Fatalf("getDetailForVerify %v", m)
	}

	m = f.post("/outseller/order/cancel", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "orderNo": res["orderNo"], "orderCertifyKey": res["orderCertifyKey"], "cancelTotalAmt": 500,
		"requestMemo": "부분취소", "totalCancelTaxfreeAmt": 0, "totalCancelPossibleAmt": 1500,
		"orderProducts": []map[string]any{{"sellerOrderProductReferenceKey": "order_1_p1", "cpId": "AUTOPAY_CP", "productId": "PROD_AUTO", "productAmt": 500, "cancelDetailContent": "부분취소"}},
	}))
	wantCode(t, m, 0)
	cres := m["result"].(map[string]any)
	wantKeys(t, "cancel result", cres, "orderNo", "cancelTradeSeq", "totalCancelPaymentAmt", "remainCancelPossibleAmt", "cancelPaymentDetails", "cancelYmdt")
	if cres["remainCancelPossibleAmt"] != 1000.0 {
		t.Errorf("remainCancelPossibleAmt %v", cres["remainCancelPossibleAmt"])
	}
	wantKeys(t, "cancelPaymentDetails[]", cres["cancelPaymentDetails"].([]any)[0].(map[string]any), "paymentTradeNo", "paymentMethodCode",
		"paymentMethodName", "cancelPaymentAmt", "tradeYmdt", "cancelPaymentTradeNo", "cancelTaxableAmt", "cancelTaxfreeAmt", "cancelVatAmt", "cancelServiceAmt")

	// Delete answers exactly {"code":0,"message":"success"} (payco.md [Y13]).
	m = f.post("/outseller/autoPayment/delete", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "sellerAutoPaymentReferenceKey": "ref_1", "autoPaymentCertifyKey": certify}))
	if len(m) != 2 || m["code"] != 0.0 || m["message"] != "success" {
		t.Fatalf("delete answer %v", m)
	}
	wantCode(t, f.post("/outseller/autoPayment/delete", mustJSON(map[string]any{
		"sellerKey": "AUTOPAY", "sellerAutoPaymentReferenceKey": "ref_1", "autoPaymentCertifyKey": certify})), 3001)
	wantCode(t, f.pay(apNo, certify, "order_2", 1500), 3001)
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	certify, apNo := f.register("ref_1", "normal")
	for name, tc := range map[string]struct {
		path, body string
		code       float64
	}{
		"unknown seller":     {"/outseller/autoPayment/reserve", `{"sellerKey":"NOPE","cpId":"c","sellerAutoPaymentReferenceKey":"r","returnUrl":"http://127.0.0.1/r"}`, 1002},
		"ip not allowed":     {"/outseller/autoPayment/info", `{"sellerKey":"IPBLOCK","sellerAutoPaymentReferenceKey":"r","autoPaymentCertifyKey":"k"}`, 1003},
		"missing cpId":       {"/outseller/autoPayment/reserve", `{"sellerKey":"DEMO","sellerAutoPaymentReferenceKey":"r","returnUrl":"http://127.0.0.1/r"}`, 1001},
		"relative returnUrl": {"/outseller/autoPayment/reserve", `{"sellerKey":"DEMO","cpId":"c","sellerAutoPaymentReferenceKey":"r","returnUrl":"/r"}`, 1001},
		"not JSON":           {"/outseller/autoPayment/payment", `sellerKey=DEMO`, 1001},
		"fractional amount":  {"/outseller/autoPayment/payment", mustJSON(map[string]any{"sellerKey": "AUTOPAY", "autoPaymentNo": apNo, "autoPaymentCertifyKey": certify, "sellerOrderReferenceKey": "o", "totalPaymentAmt": 10.5}), 1001},
		"other seller's key": {"/outseller/autoPayment/payment", mustJSON(map[string]any{"sellerKey": "DEMO", "autoPaymentNo": apNo, "autoPaymentCertifyKey": certify, "sellerOrderReferenceKey": "o", "totalPaymentAmt": 100}), 3001},
		"wrong certify key":  {"/outseller/autoPayment/payment", mustJSON(map[string]any{"sellerKey": "AUTOPAY", "autoPaymentNo": apNo, "autoPaymentCertifyKey": "x", "sellerOrderReferenceKey": "o", "totalPaymentAmt": 100}), 3001},
		"unknown order":      {"/outseller/payment/approval/getDetailForVerify", `{"sellerKey":"AUTOPAY","sellerOrderReferenceKey":"nope"}`, 4001},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, f.post(tc.path, tc.body), tc.code) })
	}
	wantCode(t, f.pay(apNo, certify, "o1", 1500), 0)
	wantCode(t, f.pay(apNo, certify, "o1", 1500), 3002) // UNIQUE_KEY
}

func TestOrderSheetPage(t *testing.T) {
	f := newFixture(t)
	no, sheet := f.reserve("ref_1")
	resp, err := http.Get(sheet)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="pc-card"`, `id="pc-register"`, `id="pc-cancel"`, `id="pc-fail"`, "1500", "no charge",
		`value="normal"`, `value="decline"`, `value="insufficient"`, `value="suspended"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("order sheet lacks %s", want)
		}
	}
	if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Errorf("order sheet references external assets")
	}
	// The form posts back under the mount point and redirects to returnUrl.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.PostForm(sheet+"/submit", url.Values{"action": {"cancel"}, "card": {"normal"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "127.0.0.1:9" || loc.Query().Get("code") != "2222" || loc.Query().Get("reserveOrderNo") != no {
		t.Fatalf("submit: HTTP %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(sheet)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("spent order sheet: HTTP %d", resp.StatusCode)
	}
}

func TestReserveRegistersOnceAndExpires(t *testing.T) {
	f := newFixture(t)
	no, _ := f.reserve("ref_1")
	if s, _ := f.buyer(no, "register", "normal"); s != http.StatusOK {
		t.Fatalf("first: %d", s)
	}
	if s, _ := f.buyer(no, "register", "normal"); s != http.StatusConflict {
		t.Fatalf("second: %d", s)
	}
	if s, _ := f.buyer("000", "register", "normal"); s != http.StatusNotFound {
		t.Fatalf("unknown: %d", s)
	}
	no2, _ := f.reserve("ref_2")
	if s, _ := f.buyer(no2, "register", "no-such-card"); s != http.StatusBadRequest {
		t.Fatalf("bad card: %d", s)
	}
	f.clk.Advance(61 * time.Minute)
	if s, _ := f.buyer(no2, "register", "normal"); s != http.StatusGone {
		t.Fatalf("expired: %d", s)
	}
}

func TestLedgerFilter(t *testing.T) {
	f := newFixture(t)
	certify, apNo := f.register("ref_1", "normal")
	r1 := f.pay(apNo, certify, "o1", 1500)["result"].(map[string]any)
	f.pay(apNo, certify, "o2", 1500)
	get := func(q string) []map[string]any {
		resp, err := http.Get(f.srv.URL + "/pgsim/payco/_sim/ledger" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := get("")
	if len(all) != 2 {
		t.Fatalf("ledger %v", all)
	}
	wantKeys(t, "ledger entry", all[0], "order_no", "payco_order_no", "auto_payment_no", "amount", "kind", "created_at")
	if l := get("?order_no=o1"); len(l) != 1 || l[0]["payco_order_no"] != r1["orderNo"] {
		t.Fatalf("by merchant order no: %v", l)
	}
	if l := get("?order_no=" + r1["orderNo"].(string)); len(l) != 1 || l[0]["order_no"] != "o1" {
		t.Fatalf("by PAYCO order no: %v", l)
	}
}

func TestStatePersists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sim.db")
	clk := clock.NewTest(0)
	open := func() (*sim.Sim, *httptest.Server) {
		s, err := sim.New(sim.Config{DBPath: path, Clock: clk, PublicURL: "http://127.0.0.1:1/pgsim/payco"})
		if err != nil {
			t.Fatal(err)
		}
		return s, httptest.NewServer(s.Handler())
	}
	s, srv := open()
	resp, err := http.Post(srv.URL+"/outseller/autoPayment/reserve", "application/json",
		strings.NewReader(`{"sellerKey":"DEMO","cpId":"DEMO","sellerAutoPaymentReferenceKey":"r1","totalPaymentAmt":100,"returnUrl":"http://127.0.0.1:9/r"}`))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Result struct {
			ReserveOrderNo string `json:"reserveOrderNo"`
			OrderSheetURL  string `json:"orderSheetUrl"`
		} `json:"result"`
	}
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if !strings.HasPrefix(env.Result.OrderSheetURL, "http://127.0.0.1:1/pgsim/payco/easyLogin/") {
		t.Fatalf("orderSheetUrl %q", env.Result.OrderSheetURL)
	}
	srv.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, srv = open()
	defer s.Close()
	defer srv.Close()
	resp, err = http.Get(srv.URL + "/easyLogin/" + env.Result.ReserveOrderNo)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reserve lost across restart: HTTP %d", resp.StatusCode)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := sim.New(sim.Config{PublicURL: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("New accepted an empty DBPath")
	}
	if _, err := sim.New(sim.Config{DBPath: filepath.Join(t.TempDir(), "x.db")}); err == nil {
		t.Fatal("New accepted an empty PublicURL")
	}
}

func TestConcurrentRegistrationsOfOneReserve(t *testing.T) {
	f := newFixture(t)
	no, _ := f.reserve("ref_1")
	const n = 8
	results := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := http.Post(f.srv.URL+"/pgsim/payco/_sim/buyer/"+no, "application/json",
				strings.NewReader(`{"action":"register","card":"normal"}`))
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	ok := 0
	for i := 0; i < n; i++ {
		switch s := <-results; s {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("unexpected HTTP %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d registrations of one reserve", ok)
	}
}
