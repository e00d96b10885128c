package checkout_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"billkey/internal/checkout"
	"billkey/internal/testutil/apptest"
)

func noFollow(s *apptest.Server) *http.Client {
	return &http.Client{Transport: s.Client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestSDKServed(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	for _, p := range checkout.SDKPaths {
		resp, err := s.Client.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
			!bytes.Contains(body, []byte("request_pay")) || bytes.Contains(body, []byte("jQuery")) {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

func TestFrameChecksOrigin(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	for _, bad := range []string{"", "javascript:alert(1)", "http://shop.example/path", "http://a b", "ftp://x"} {
		resp, err := s.Client.Get(s.URL + "/checkout/frame?rid=req_1&origin=" + url.QueryEscape(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("origin %q: %d", bad, resp.StatusCode)
		}
	}
	resp, err := s.Client.Get(s.URL + "/checkout/frame?rid=req_1&origin=" + url.QueryEscape("http://shop.example:8080"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != "frame-ancestors http://shop.example:8080" {
		t.Fatalf("frame: %d csp %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

type startResp struct {
	Rsp *struct {
		Success   bool    `json:"success"`
		ImpUID    *string `json:"imp_uid"`
		ErrorCode string  `json:"error_code"`
		ErrorMsg  string  `json:"error_msg"`
		RequestID string  `json:"request_id"`
	} `json:"rsp"`
	URL      string `json:"url"`
	ImpUID   string `json:"imp_uid"`
	CloseURL string `json:"close_url"`
}

func start(t *testing.T, s *apptest.Server, code string, params map[string]any, headers map[string]string) (int, startResp) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"origin": "http://shop.example", "request_id": "req_1", "user_code": code, "params": params})
	req, _ := http.NewRequest("POST", s.URL+"/checkout/start", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out startResp
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

func TestStartRefusals(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	base := func(kv ...any) map[string]any {
		p := map[string]any{"merchant_uid": "o1", "amount": 0, "customer_uid": "c1"}
		for i := 0; i < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1]
		}
		return p
	}
	cases := []struct {
		name, code string
		params     map[string]any
		want       string
	}{
		{"unknown merchant code", "imp99999999", base(), "imp99999999"},
		{"unknown channel", m.Code, base("pg", "kakaopay.NOPE"), "kakaopay.NOPE"},
		{"unknown provider", m.Code, base("pg", "inicis"), "inicis"},
		{"payco not card", m.Code, base("pg", "payco", "pay_method", "trans"), "pay_method"},
		{"no customer_uid", m.Code, base("customer_uid", ""), "customer_uid"},
		{"amount string", m.Code, base("amount", "abc"), "amount"},
		{"amount fraction", m.Code, base("amount", 10.5), "amount"},
	}
	for _, c := range cases {
		st, out := start(t, s, c.code, c.params, nil)
		if st != 200 || out.Rsp == nil || out.Rsp.Success || out.Rsp.ImpUID != nil || out.Rsp.ErrorCode != checkout.CodeInvalid ||
			!strings.Contains(out.Rsp.ErrorMsg, c.want) || out.Rsp.RequestID != "req_1" || out.URL != "" {
			t.Errorf("%s: %d %+v", c.name, st, out.Rsp)
		}
	}
	// Nothing was recorded.
	if st, env := m.Do(t, "GET", "/payments/findAll/o1", nil); st != 404 {
		t.Fatalf("findAll o1: %d %s", st, env.Raw)
	}
	// A cross-site call (not from billkey's frame) is refused.
	if st, _ := start(t, s, m.Code, base(), map[string]string{"Sec-Fetch-Site": "cross-site"}); st != 403 {
		t.Fatalf("cross-site start: %d", st)
	}
}

func TestReturnURLTampered(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	st, out := start(t, s, m.Code, map[string]any{"pg": "kakaopay", "merchant_uid": "o1", "amount": 0, "customer_uid": "c1"}, nil)
	if st != 200 || out.Rsp != nil || out.CloseURL == "" || !strings.Contains(out.URL, "/pgsim/kakaopay/") {
		t.Fatalf("start: %d %+v", st, out)
	}
	for _, bad := range []string{
		strings.Replace(out.CloseURL, "/cancel/", "/ok/", 1),             // outcome swapped
		out.CloseURL[:len(out.CloseURL)-2] + "AA",                        // signature
		strings.Replace(out.CloseURL, out.ImpUID, "imp_000000000000", 1), // another payment
		strings.Replace(out.CloseURL, m.Code, s.NewMerchant(t).Code, 1),  // another merchant
	} {
		resp, err := noFollow(s).Get(bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 && resp.StatusCode != 404 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
	// The window is still open: the real close URL fails it.
	resp, err := noFollow(s).Get(out.CloseURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("사용자가 결제를 취소하였습니다")) ||
		resp.Header.Get("Content-Security-Policy") != "frame-ancestors http://shop.example" {
		t.Fatalf("close: %d %s", resp.StatusCode, body)
	}
	var p struct{ Status string }
	_, env := m.Do(t, "GET", "/payments/"+out.ImpUID, nil)
	env.Into(t, &p)
	if p.Status != "failed" {
		t.Fatalf("status after close: %s", p.Status)
	}
}

// TestRedirectFlowHeadless runs the mobile flow without a browser, with an
// m_redirect_url too long to fit in a PG return URL (the context then lives
// in the meta table).
func TestRedirectFlowHeadless(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	mRedirect := "https://shop.example/order/complete?next=" + strings.Repeat("x", 300)
	payload, _ := json.Marshal(map[string]any{"user_code": m.Code, "request_id": "req_1", "params": map[string]any{
		"pg": "kakaopay", "merchant_uid": "m1", "amount": 1000, "customer_uid": "cm1", "m_redirect_url": mRedirect}})
	c := noFollow(s)
	resp, err := c.PostForm(s.URL+"/checkout/redirect", url.Values{"payload": {string(payload)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.Contains(loc, "/pgsim/kakaopay/_sim/pay/") {
		t.Fatalf("redirect: %d %s", resp.StatusCode, loc)
	}
	tid := strings.Split(strings.SplitN(loc, "/_sim/pay/", 2)[1], "/")[0]
	bresp, err := s.Client.Post(s.URL+"/pgsim/kakaopay/_sim/buyer/"+tid, "application/json", strings.NewReader(`{"action":"approve","method":"CARD"}`))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		RedirectURL string `json:"redirect_url"`
	}
	json.NewDecoder(bresp.Body).Decode(&b)
	bresp.Body.Close()
	if len(strings.SplitN(b.RedirectURL, "?", 2)[0]) > 255 {
		t.Fatalf("return URL longer than Kakao takes: %s", b.RedirectURL)
	}
	resp, err = c.Get(b.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(resp.Header.Get("Location"))
	q := u.Query()
	if resp.StatusCode != 303 || !strings.HasPrefix(u.String(), "https://shop.example/order/complete?") ||
		q.Get("next") != strings.Repeat("x", 300) || q.Get("imp_success") != "true" || q.Get("merchant_uid") != "m1" || q.Get("imp_uid") == "" {
		t.Fatalf("final redirect: %d %s", resp.StatusCode, u)
	}
	var p struct {
		Status string
		Amount int64
	}
	_, env := m.Do(t, "GET", "/payments/"+q.Get("imp_uid"), nil)
	env.Into(t, &p)
	if p.Status != "paid" || p.Amount != 1000 {
		t.Fatalf("payment %+v", p)
	}
	// Refused before any window: straight back to m_redirect_url with the error.
	resp, err = c.PostForm(s.URL+"/checkout/redirect", url.Values{"payload": {string(payload)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ = url.Parse(resp.Header.Get("Location"))
	if q := u.Query(); q.Get("imp_success") != "false" || q.Get("error_code") != "F400" || q.Has("imp_uid") || q.Get("error_msg") == "" {
		t.Fatalf("refused redirect: %s", u)
	}
}
