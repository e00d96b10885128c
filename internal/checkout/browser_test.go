package checkout_test

// End-to-end tests of the SDK and the window flow in a real headless
// Chromium, driven with chromedp. One Chromium per test binary; each scenario
// gets a fresh tab, a fresh merchant and its own merchant page, served from a
// different origin (http://localhost:PORT) than billkey (http://127.0.0.1:PORT).
// Screenshots of each window state go to testout/browser/ at the repo root.

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/pgtest"
)

const chromiumPath = "/usr/bin/chromium"

//go:embed testdata/merchant.html
var merchantHTML string

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
	browserDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	if browserDir != "" {
		os.RemoveAll(browserDir)
	}
	os.Exit(code)
}

// browser starts the one Chromium of this test binary.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if pgtest.Required("browser") {
			t.Fatalf("chromium not installed (%s) and BILLKEY_TEST_REQUIRE names browser", chromiumPath)
		}
		t.Skip("chromium not installed (/usr/bin/chromium); install Debian's chromium or set BILLKEY_TEST_REQUIRE=browser to make this fatal")
	}
	browserOnce.Do(func() {
		browserDir, browserErr = os.MkdirTemp("", "billkey-chromium-")
		if browserErr != nil {
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(chromiumPath),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("disable-default-apps", true),
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.Flag("no-proxy-server", true),
			// Keep billkey's cross-origin iframe in the page's process so that
			// queries reach into it (chromedp's FromNode). The merchant page and
			// billkey stay different origins, so the SDK's origin checks apply.
			chromedp.Flag("disable-features", "SitePerProcess,IsolateOrigins,Translate"),
			chromedp.Flag("disable-site-isolation-trials", true),
			chromedp.Flag("password-store", "basic"),
			chromedp.UserDataDir(browserDir),
			chromedp.WindowSize(1280, 900),
		)
		ctx, cancel := chromedp.NewContext(alloc)
		browserCtx = ctx
		browserCancel = func() { cancel(); cancelAlloc() }
		browserErr = chromedp.Do(ctx) // starts the browser (no timeout on the first Run)
	})
	if browserErr != nil {
		t.Fatalf("start chromium: %v", browserErr)
	}
	return browserCtx
}

// shotDir is testout/browser at the repo root.
func shotDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repo root (go.mod) not found")
		}
		dir = parent
	}
	out := filepath.Join(dir, "testout", "browser")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// scenario is one browser scenario: a merchant, its page, a tab.
type scenario struct {
	t       *testing.T
	s       *apptest.Server
	m       *apptest.Merchant
	shopURL string
	tab     context.Context
	dialogs chan string
	shots   string
	name    string
}

func newScenario(t *testing.T, s *apptest.Server, opts ...chromedp.Action[chromedp.Void]) *scenario {
	t.Helper()
	parent := browser(t)
	m := s.NewMerchant(t)
	html := strings.NewReplacer("{{SCRIPT_URL}}", s.URL+"/v1/iamport.js", "{{MERCHANT_CODE}}", m.Code).Replace(merchantHTML)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(html))
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><title>done</title><h1 id="done">m_redirect_url</h1><pre id="q"></pre>
<script>document.getElementById("q").textContent = decodeURIComponent(location.search.replace(/&/g, "\n"));</script>`)
	})
	shop := httptest.NewServer(mux)
	t.Cleanup(shop.Close)
	// The merchant page is on another origin than billkey: localhost vs 127.0.0.1.
	shopURL := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)

	tab, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	sc := &scenario{t: t, s: s, m: m, shopURL: shopURL, tab: tab, dialogs: make(chan string, 8), shots: shotDir(t),
		name: strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())}
	if err := chromedp.Do(tab, opts...); err != nil { // opens the tab
		t.Fatalf("open tab: %v", err)
	}
	dialogs := chromedp.Events(tab, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			sc.dialogs <- ev.Message
			_, _ = chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return sc
}

// do runs steps in the tab with a bounded wait.
func (sc *scenario) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(sc.tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		sc.shot("error")
		sc.t.Fatalf("%s: %v", what, err)
	}
}

func (sc *scenario) shot(step string) {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(sc.tab, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil && len(buf) == 0 {
		err = errors.New("empty image")
	}
	if err != nil {
		sc.t.Errorf("screenshot %s: capture: %v", step, err)
		return
	}
	name := filepath.Join(sc.shots, sc.name+"-"+step+".png")
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		sc.t.Errorf("screenshot %s: %v", step, err)
	}
}

// open loads the merchant page with scenario overrides in its query.
func (sc *scenario) open(q url.Values) {
	sc.t.Helper()
	u := sc.shopURL + "/"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	sc.do("open merchant page", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("kakaopay")))
}

// frame waits until billkey's iframe in the overlay shows sel, and returns
// the iframe's node (fetched again each time: the iframe navigates, from
// billkey's frame to the PG's window and back to billkey).
func (sc *scenario) frame(sel string) *chromedp.Node {
	sc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(sc.tab, time.Second)
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#billkey-imp-frame")))
		if err == nil && len(nodes) == 1 {
			err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel), chromedp.FromNode(nodes[0])))
		}
		cancel()
		if err == nil {
			return nodes[0]
		}
		if time.Now().After(deadline) {
			sc.shot("error")
			sc.t.Fatalf("payment window never showed %s: %v", sel, err)
		}
	}
}

// rspOf waits for the callback's rsp (recorded by the page's harness).
func (sc *scenario) rsp() map[string]any {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(sc.tab, 25*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Poll[[]byte](`window.__rsp`, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		sc.shot("error")
		sc.t.Fatalf("no callback: %v", err)
	}
	var rsp map[string]any
	if err := json.Unmarshal(raw, &rsp); err != nil {
		sc.t.Fatalf("rsp %s: %v", raw, err)
	}
	return rsp
}

func (sc *scenario) alert(want string) {
	sc.t.Helper()
	select {
	case got := <-sc.dialogs:
		if got != want {
			sc.t.Errorf("alert %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		sc.t.Errorf("no alert(%q)", want)
	}
}

// redirected waits for the m_redirect_url page and returns its query.
func (sc *scenario) redirected() url.Values {
	sc.t.Helper()
	sc.do("wait for m_redirect_url", chromedp.WaitVisible(chromedp.ID("done")))
	ctx, cancel := context.WithTimeout(sc.tab, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		sc.t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		sc.t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != sc.shopURL+"/done" {
		sc.t.Fatalf("redirected to %s, want %s/done", loc, sc.shopURL)
	}
	return u.Query()
}

const seedCustomerUID = "{Unique ID for the card (billing key)}"
const seedMerchantUID = "{Order ID}"

type payment struct {
	ImpUID           string  `json:"imp_uid"`
	MerchantUID      string  `json:"merchant_uid"`
	Status           string  `json:"status"`
	Amount           int64   `json:"amount"`
	PayMethod        string  `json:"pay_method"`
	PGProvider       string  `json:"pg_provider"`
	Channel          string  `json:"channel"`
	CustomerUID      *string `json:"customer_uid"`
	CustomerUIDUsage *string `json:"customer_uid_usage"`
	FailReason       *string `json:"fail_reason"`
	PaidAt           int64   `json:"paid_at"`
}

func (sc *scenario) payment(impUID string) payment {
	sc.t.Helper()
	st, env := sc.m.Do(sc.t, "GET", "/payments/"+impUID, nil)
	if st != 200 || env.Code != 0 {
		sc.t.Fatalf("GET /payments/%s: %d %s", impUID, st, env.Raw)
	}
	var p payment
	env.Into(sc.t, &p)
	return p
}

// charge charges the stored key over REST (again) and checks the result.
func (sc *scenario) charge(customerUID, merchantUID string, amount int64, wantStatus, wantPayMethod string) payment {
	sc.t.Helper()
	st, env := sc.m.Do(sc.t, "POST", "/subscribe/payments/again", map[string]any{
		"customer_uid": customerUID, "merchant_uid": merchantUID, "amount": amount, "name": "2nd month"})
	if st != 200 || env.Code != 0 {
		sc.t.Fatalf("again: %d %s", st, env.Raw)
	}
	var p payment
	env.Into(sc.t, &p)
	if p.Status != wantStatus || p.PayMethod != wantPayMethod || p.Amount != amount {
		sc.t.Fatalf("again: status %s pay_method %s amount %d, want %s %s %d (%s)", p.Status, p.PayMethod, p.Amount,
			wantStatus, wantPayMethod, amount, env.Raw)
	}
	return p
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// pgUI is how a test drives one PG's window.
type pgUI struct {
	button   string // on the merchant page
	ready    string // element that shows the window is up
	approve  string
	cancel   string
	card     string // test card select
	decline  string // the test card that declines at issuance
	money    string // Kakao Money radio ("" if none)
	provider string
}

var (
	kakaoUI  = pgUI{button: "kakaopay", ready: "#kp-approve", approve: "kp-approve", cancel: "kp-cancel", card: "kp-card", decline: "decline", money: "kp-method-money", provider: "kakaopay"}
	paycoUI  = pgUI{button: "payco", ready: "#pc-register", approve: "pc-register", cancel: "pc-cancel", card: "pc-card", decline: "decline", provider: "payco"}
	testpgUI = pgUI{button: "testpg", ready: "#tp-approve", approve: "tp-approve", cancel: "tp-cancel", card: "tp-card", decline: "4000-0000-0000-0002", provider: "testpg"}
)

// buyer is what the buyer does in the PG window.
type buyer struct {
	action string // "approve", "cancel"
	card   string // test card
	money  bool   // Kakao Money instead of card
}

// steps are the buyer's clicks in the window (from: where the window's
// document is: the overlay's iframe, or nil for a full-page window).
func (b buyer) steps(ui pgUI, from *chromedp.Node) []chromedp.Action[chromedp.Void] {
	in := chromedp.FromNode(from)
	var out []chromedp.Action[chromedp.Void]
	if b.money {
		out = append(out, chromedp.Click(chromedp.ID(ui.money), in))
	}
	if b.card != "" {
		out = append(out, chromedp.SetValue(chromedp.ID(ui.card), b.card, in))
	}
	if b.action == "cancel" {
		return append(out, chromedp.Click(chromedp.ID(ui.cancel), in))
	}
	return append(out, chromedp.Click(chromedp.ID(ui.approve), in))
}

// pcFlow: the seed snippet on PC; the PG window in the overlay; the callback.
func pcFlow(t *testing.T, s *apptest.Server, ui pgUI, q url.Values, b buyer) (*scenario, map[string]any) {
	sc := newScenario(t, s)
	sc.open(q)
	sc.do("request_pay", chromedp.Click(chromedp.ID(ui.button)))
	fr := sc.frame(ui.ready)
	sc.do("overlay shown", chromedp.WaitVisible(chromedp.ID("billkey-imp-close")))
	sc.shot("1-window")
	sc.do("buyer in the window", b.steps(ui, fr)...)
	rsp := sc.rsp()
	sc.do("overlay gone", chromedp.WaitNotPresent(chromedp.ID("billkey-imp-overlay")))
	sc.shot("2-result")
	return sc, rsp
}

// mobileFlow: the same snippet on a phone with m_redirect_url; full-page PG
// window; the redirect back.
func mobileFlow(t *testing.T, s *apptest.Server, ui pgUI, q url.Values, b buyer) (*scenario, url.Values) {
	sc := newScenario(t, s, chromedp.Emulate(device.IPhone13))
	if q == nil {
		q = url.Values{}
	}
	q.Set("m_redirect_url", sc.shopURL+"/done")
	sc.open(q)
	sc.do("request_pay", chromedp.Click(chromedp.ID(ui.button)), chromedp.WaitVisible(chromedp.CSS(ui.ready)))
	sc.shot("1-window")
	sc.do("buyer in the window", b.steps(ui, nil)...)
	res := sc.redirected()
	sc.shot("2-result")
	return sc, res
}

func wantRsp(t *testing.T, rsp map[string]any, success bool, provider, status string) {
	t.Helper()
	if rsp["success"] != success || rsp["imp_success"] != success || str(rsp["pg_provider"]) != provider ||
		str(rsp["status"]) != status || str(rsp["merchant_uid"]) != seedMerchantUID || str(rsp["pg_type"]) != "payment" {
		t.Fatalf("rsp = %v; want success %v, pg_provider %s, status %s", rsp, success, provider, status)
	}
	if success {
		if str(rsp["customer_uid"]) != seedCustomerUID || rsp["error_code"] != nil || rsp["error_msg"] != nil {
			t.Fatalf("rsp = %v", rsp)
		}
	} else if str(rsp["error_code"]) == "" || str(rsp["error_msg"]) == "" {
		t.Fatalf("failed rsp without error_code/error_msg: %v", rsp)
	}
	for _, k := range []string{"imp_uid", "pay_method", "paid_amount", "name", "pg_tid", "buyer_name", "buyer_email", "buyer_tel",
		"custom_data", "paid_at", "receipt_url", "apply_num", "card_name", "card_number", "card_quota", "currency"} {
		if _, ok := rsp[k]; !ok {
			t.Errorf("rsp has no %s: %v", k, rsp)
		}
	}
}

func TestBrowserKakaoPay(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})

	t.Run("pc/success_money_then_again", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, kakaoUI, nil, buyer{money: true})
		sc.alert("Success")
		wantRsp(t, rsp, true, "kakaopay", "ready") // amount 0: issued, not charged
		if str(rsp["pay_method"]) != "point" || rsp["paid_amount"] != 0.0 || rsp["paid_at"] != 0.0 {
			t.Fatalf("rsp = %v", rsp)
		}
		p := sc.payment(str(rsp["imp_uid"]))
		if p.Status != "ready" || p.CustomerUIDUsage == nil || *p.CustomerUIDUsage != "issue" || p.PayMethod != "point" {
			t.Fatalf("issuance payment = %+v", p)
		}
		sc.charge(seedCustomerUID, "again_1", 9900, "paid", "point")

		// The paid merchant_uid is refused before any window opens.
		sc.open(url.Values{"merchant_uid": {"again_1"}})
		sc.do("request_pay", chromedp.Click(chromedp.ID("kakaopay")))
		rsp = sc.rsp()
		sc.alert("Failed")
		sc.shot("3-paid-merchant-uid")
		if rsp["success"] != false || rsp["imp_uid"] != nil || str(rsp["error_code"]) != "F400" ||
			!strings.Contains(str(rsp["error_msg"]), "merchant_uid") || str(rsp["merchant_uid"]) != "again_1" {
			t.Fatalf("rsp = %v", rsp)
		}
		if n, err := chromedp.Run(sc.tab, chromedp.Evaluate[int](`document.querySelectorAll("#billkey-imp-overlay").length`)); err != nil || n != 0 {
			t.Fatalf("overlay left: %d %v", n, err)
		}
		st, env := sc.m.Do(t, "GET", "/payments/findAll/again_1", nil)
		var list struct{ List []payment }
		env.Into(t, &list)
		if st != 200 || len(list.List) != 1 || list.List[0].Status != "paid" {
			t.Fatalf("findAll again_1: %d %s", st, env.Raw)
		}
	})

	t.Run("pc/success_card_with_amount_charges", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, kakaoUI, url.Values{"amount": {"5900"}}, buyer{})
		sc.alert("Success")
		wantRsp(t, rsp, true, "kakaopay", "paid")
		if str(rsp["pay_method"]) != "card" || rsp["paid_amount"] != 5900.0 || rsp["paid_at"] == 0.0 || str(rsp["card_name"]) == "" {
			t.Fatalf("rsp = %v", rsp)
		}
		sc.charge(seedCustomerUID, "again_2", 5900, "paid", "card")
	})

	t.Run("pc/buyer_cancel", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, kakaoUI, nil, buyer{action: "cancel"})
		sc.alert("Failed")
		wantRsp(t, rsp, false, "kakaopay", "failed")
		if str(rsp["error_code"]) != "F0005" || !strings.Contains(str(rsp["error_msg"]), "사용자가 결제를 취소하였습니다") {
			t.Fatalf("rsp = %v", rsp)
		}
	})

	t.Run("pc/decline", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, kakaoUI, nil, buyer{card: "decline"})
		sc.alert("Failed")
		wantRsp(t, rsp, false, "kakaopay", "failed")
		if str(rsp["error_code"]) != "-780" {
			t.Fatalf("rsp = %v", rsp)
		}
		if p := sc.payment(str(rsp["imp_uid"])); p.Status != "failed" {
			t.Fatalf("payment = %+v", p)
		}
	})

	t.Run("pc/close_overlay", func(t *testing.T) {
		t.Parallel()
		sc := newScenario(t, s)
		sc.open(nil)
		sc.do("request_pay", chromedp.Click(chromedp.ID("kakaopay")))
		sc.frame(kakaoUI.ready)
		sc.do("close", chromedp.WaitVisible(chromedp.ID("billkey-imp-close")), chromedp.Click(chromedp.ID("billkey-imp-close")))
		rsp := sc.rsp()
		sc.alert("Failed")
		sc.shot("2-closed")
		if rsp["success"] != false || !strings.Contains(str(rsp["error_msg"]), "사용자가 결제를 취소하였습니다") || str(rsp["imp_uid"]) == "" {
			t.Fatalf("rsp = %v", rsp)
		}
		if p := sc.payment(str(rsp["imp_uid"])); p.Status != "failed" || p.FailReason == nil {
			t.Fatalf("payment after close = %+v", p)
		}
	})

	t.Run("mobile/success_then_again", func(t *testing.T) {
		t.Parallel()
		sc, q := mobileFlow(t, s, kakaoUI, nil, buyer{money: true})
		if q.Get("imp_success") != "true" || q.Get("merchant_uid") != seedMerchantUID || q.Get("imp_uid") == "" || q.Has("error_msg") {
			t.Fatalf("redirect query = %v", q)
		}
		if p := sc.payment(q.Get("imp_uid")); p.PayMethod != "point" || p.Status != "ready" {
			t.Fatalf("payment = %+v", p)
		}
		sc.charge(seedCustomerUID, "again_m1", 1000, "paid", "point")
	})

	t.Run("mobile/buyer_cancel", func(t *testing.T) {
		t.Parallel()
		_, q := mobileFlow(t, s, kakaoUI, nil, buyer{action: "cancel"})
		if q.Get("imp_success") != "false" || q.Get("error_code") != "F0005" || !strings.Contains(q.Get("error_msg"), "사용자가 결제를 취소하였습니다") {
			t.Fatalf("redirect query = %v", q)
		}
	})

	t.Run("mobile/decline", func(t *testing.T) {
		t.Parallel()
		_, q := mobileFlow(t, s, kakaoUI, nil, buyer{card: "decline"})
		if q.Get("imp_success") != "false" || q.Get("error_code") != "-780" || q.Get("imp_uid") == "" {
			t.Fatalf("redirect query = %v", q)
		}
	})
}

func TestBrowserPayco(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})

	t.Run("pc/success_then_again", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, paycoUI, url.Values{"amount": {"3000"}}, buyer{})
		sc.alert("Success")
		wantRsp(t, rsp, true, "payco", "ready") // display amount only: never charged
		if str(rsp["pay_method"]) != "card" || rsp["paid_amount"] != 0.0 {
			t.Fatalf("rsp = %v", rsp)
		}
		if p := sc.payment(str(rsp["imp_uid"])); p.Status != "ready" || p.Amount != 3000 || p.PaidAt != 0 {
			t.Fatalf("payment = %+v", p)
		}
		sc.charge(seedCustomerUID, "again_1", 3000, "paid", "card")
	})

	t.Run("pc/buyer_cancel", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, paycoUI, nil, buyer{action: "cancel"})
		sc.alert("Failed")
		wantRsp(t, rsp, false, "payco", "failed")
		if !strings.Contains(str(rsp["error_msg"]), "취소") {
			t.Fatalf("rsp = %v", rsp)
		}
	})

	t.Run("pc/decline", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, paycoUI, nil, buyer{card: "decline"})
		sc.alert("Failed")
		wantRsp(t, rsp, false, "payco", "failed")
		if str(rsp["error_code"]) != "3101" {
			t.Fatalf("rsp = %v", rsp)
		}
	})

	t.Run("mobile/success_then_again", func(t *testing.T) {
		t.Parallel()
		sc, q := mobileFlow(t, s, paycoUI, nil, buyer{})
		if q.Get("imp_success") != "true" || q.Get("imp_uid") == "" {
			t.Fatalf("redirect query = %v", q)
		}
		sc.charge(seedCustomerUID, "again_m1", 2000, "paid", "card")
	})

	t.Run("mobile/buyer_cancel", func(t *testing.T) {
		t.Parallel()
		_, q := mobileFlow(t, s, paycoUI, nil, buyer{action: "cancel"})
		if q.Get("imp_success") != "false" || q.Get("error_msg") == "" || q.Get("error_code") == "" {
			t.Fatalf("redirect query = %v", q)
		}
	})

	t.Run("mobile/decline", func(t *testing.T) {
		t.Parallel()
		_, q := mobileFlow(t, s, paycoUI, nil, buyer{card: "decline"})
		if q.Get("imp_success") != "false" || q.Get("error_code") != "3101" {
			t.Fatalf("redirect query = %v", q)
		}
	})

	t.Run("pc/pay_method_refused_before_window", func(t *testing.T) {
		t.Parallel()
		sc := newScenario(t, s)
		sc.open(nil)
		// PAYCO takes card only: the seed with another pay_method is refused before any window.
		sc.do("request_pay", chromedp.Evaluate[chromedp.Void](`IMP.request_pay({pg:'payco', pay_method:'trans', merchant_uid:'o1', amount:0, customer_uid:'c1'}, function(){})`))
		rsp := sc.rsp()
		if rsp["success"] != false || str(rsp["error_code"]) != "F400" || !strings.Contains(str(rsp["error_msg"]), "pay_method") {
			t.Fatalf("rsp = %v", rsp)
		}
	})
}

func TestBrowserTestPG(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})

	t.Run("pc/success_then_again", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, testpgUI, nil, buyer{card: "4242-4242-4242-4242"})
		sc.alert("Success")
		wantRsp(t, rsp, true, "testpg", "ready")
		sc.charge(seedCustomerUID, "again_1", 1000, "paid", "card")
	})

	t.Run("pc/decline", func(t *testing.T) {
		t.Parallel()
		sc, rsp := pcFlow(t, s, testpgUI, nil, buyer{card: testpgUI.decline})
		sc.alert("Failed")
		wantRsp(t, rsp, false, "testpg", "failed")
	})

	t.Run("mobile/buyer_cancel", func(t *testing.T) {
		t.Parallel()
		_, q := mobileFlow(t, s, testpgUI, nil, buyer{action: "cancel"})
		if q.Get("imp_success") != "false" || q.Get("error_code") != "F0005" {
			t.Fatalf("redirect query = %v", q)
		}
	})
}

// TestBrowserMobileOverlay: a phone browser without m_redirect_url gets the
// overlay and the callback, as on PC, on every PG (docs/compat.md); the PG
// window in the overlay is the PG's mobile one and the issuance is recorded
// with channel mobile. The new key is then charged over REST.
func TestBrowserMobileOverlay(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})
	for _, c := range []struct {
		ui  pgUI
		dev device.Info
	}{{kakaoUI, device.IPhone13.Device()}, {paycoUI, device.Pixel5.Device()}} {
		t.Run(c.ui.provider+"/success_then_again", func(t *testing.T) {
			t.Parallel()
			sc := newScenario(t, s, chromedp.Emulate(c.dev))
			sc.open(nil)
			if ua := evalJS[string](sc, "user agent", `navigator.userAgent`); !strings.Contains(ua, "Mobile") {
				t.Fatalf("not a mobile user agent: %s", ua)
			}
			sc.do("request_pay", chromedp.Click(chromedp.ID(c.ui.button)))
			fr := sc.frame(c.ui.ready)
			sc.do("overlay shown", chromedp.WaitVisible(chromedp.ID("billkey-imp-close")))
			sc.shot("1-window")
			sc.do("buyer in the window", buyer{}.steps(c.ui, fr)...)
			rsp := sc.rsp()
			sc.alert("Success")
			sc.do("overlay gone", chromedp.WaitNotPresent(chromedp.ID("billkey-imp-overlay")))
			sc.shot("2-result")
			wantRsp(t, rsp, true, c.ui.provider, "ready")
			if p := sc.payment(str(rsp["imp_uid"])); p.Status != "ready" || p.Channel != "mobile" ||
				p.CustomerUID == nil || *p.CustomerUID != seedCustomerUID {
				t.Fatalf("issuance payment = %+v", p)
			}
			p := sc.charge(seedCustomerUID, "again_mo1", 1500, "paid", "card")
			if p.CustomerUID == nil || *p.CustomerUID != seedCustomerUID || p.PGProvider != c.ui.provider {
				t.Fatalf("again = %+v", p)
			}
		})
	}
}

// TestBrowserDemo is the demo shop as a person uses it: register a card with
// Kakao Pay through the SDK, then charge it through the demo back end.
func TestBrowserDemo(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	demo, _, err := s.App.EnsureDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc := newScenario(t, s)
	sc.do("open demo", chromedp.Navigate(s.URL+"/demo"), chromedp.WaitVisible(chromedp.ID("demo-register")))
	code, err := chromedp.Run(sc.tab, chromedp.Text(chromedp.ID("demo-code")))
	if err != nil || code != demo.Code {
		t.Fatalf("demo code %q %v, want %s", code, err, demo.Code)
	}
	sc.do("register", chromedp.SetValue(chromedp.ID("demo-customer"), "demo_browser_1"), chromedp.Click(chromedp.ID("demo-register")))
	fr := sc.frame("#kp-approve")
	sc.shot("1-window")
	sc.do("approve", chromedp.Click(chromedp.ID("kp-method-money"), chromedp.FromNode(fr)), chromedp.Click(chromedp.ID("kp-approve"), chromedp.FromNode(fr)))
	sc.do("registered", chromedp.WaitVisible(chromedp.CSS("#demo-register-result.ok")),
		chromedp.WaitVisible(chromedp.ID("demo-rsp")))
	sc.shot("2-registered")
	sc.do("charge", chromedp.SetValue(chromedp.ID("demo-charge-amount"), "4500"), chromedp.Click(chromedp.ID("demo-charge")),
		chromedp.WaitVisible(chromedp.CSS("#demo-charge-result.ok")))
	sc.shot("3-charged")
	res, err := chromedp.Run(sc.tab, chromedp.Text(chromedp.ID("demo-charge-result")))
	if err != nil || !strings.Contains(res, "4500") || !strings.Contains(res, "point") {
		t.Fatalf("charge result %q %v", res, err)
	}
	pj, err := chromedp.Run(sc.tab, chromedp.Text(chromedp.ID("demo-payment")))
	if err != nil || !strings.Contains(pj, `"status": "paid"`) || !strings.Contains(pj, `"customer_uid": "demo_browser_1"`) {
		t.Fatalf("payment JSON %q %v", pj, err)
	}

	// The back end's secret is stored sealed, never in plaintext.
	rd := s.App.Store.Read()
	impKey, err1 := rd.Meta(ctx, "demo_backend_imp_key")
	sealed, err2 := rd.Meta(ctx, "demo_backend_secret_sealed")
	if err1 != nil || err2 != nil || impKey == "" {
		t.Fatalf("demo back end meta: %v %v", err1, err2)
	}
	ct, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s.App.Vault.Open(ctx, demo.ID, "demo-backend-secret", ct)
	if err != nil || len(secret) != 80 || strings.Contains(sealed, string(secret)) {
		t.Fatalf("sealed secret: %v", err)
	}
	st, env := s.Do(t, "POST", "/users/getToken", "", map[string]any{"imp_key": impKey, "imp_secret": string(secret)})
	if st != 200 || env.Code != 0 {
		t.Fatalf("getToken with the demo back end's key: %d %s", st, env.Raw)
	}
}
