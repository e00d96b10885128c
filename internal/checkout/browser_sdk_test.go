package checkout_test

// Browser tests of the SDK object itself: IMP.agency, and the message checks
// that keep forged postMessage events away from the merchant's callback.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"billkey/internal/testutil/apptest"
)

// evalJS evaluates a script in the merchant page.
func evalJS[T any](sc *scenario, what, expr string) T {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(sc.tab, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		sc.shot("error")
		sc.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestBrowserAgency: IMP.agency(code, tier) is the sub-merchant form of
// IMP.init: the window opens for the code it was given (tier_code goes
// along and is not used), replacing the code IMP.init set.
func TestBrowserAgency(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})
	sc := newScenario(t, s) // the page calls IMP.init(sc.m.Code)
	sub := s.NewMerchant(t)
	sc.open(nil)
	if typ := evalJS[string](sc, "typeof IMP.agency", `typeof IMP.agency`); typ != "function" {
		t.Fatalf("typeof IMP.agency = %s", typ)
	}

	evalJS[chromedp.Void](sc, "agency + request_pay", `IMP.agency('`+sub.Code+`', 'tier_001');
		IMP.request_pay({pg: 'testpg', merchant_uid: 'agency_order_1', name: 'agency', amount: 0, customer_uid: 'agency_cust_1'}, function () {})`)
	fr := sc.frame(testpgUI.ready)
	sc.shot("1-window")
	sc.do("buyer in the window", buyer{card: "4242-4242-4242-4242"}.steps(testpgUI, fr)...)
	rsp := sc.rsp()
	sc.shot("2-result")
	if rsp["success"] != true || str(rsp["merchant_uid"]) != "agency_order_1" || str(rsp["customer_uid"]) != "agency_cust_1" {
		t.Fatalf("rsp = %v", rsp)
	}
	impUID := str(rsp["imp_uid"])
	// Recorded under the agency's code, not the one IMP.init set.
	if st, env := sub.Do(t, "GET", "/payments/"+impUID, nil); st != 200 || env.Code != 0 {
		t.Fatalf("sub-merchant GET /payments/%s: %d %s", impUID, st, env.Raw)
	}
	if st, _ := sc.m.Do(t, "GET", "/payments/"+impUID, nil); st != 404 {
		t.Fatalf("init merchant sees the agency payment: %d", st)
	}
	if st, env := sub.Do(t, "POST", "/subscribe/payments/again", map[string]any{"customer_uid": "agency_cust_1", "merchant_uid": "agency_again_1", "amount": 1000}); st != 200 || !strings.Contains(string(env.Raw), `"status":"paid"`) {
		t.Fatalf("again for the sub-merchant: %d %s", st, env.Raw)
	}

	// An unknown code given to agency is the code the refusal names.
	evalJS[chromedp.Void](sc, "reset rsp", `window.__rsp = undefined`)
	evalJS[chromedp.Void](sc, "agency unknown", `IMP.agency('imp00000000', 'tier_001');
		IMP.request_pay({pg: 'testpg', merchant_uid: 'agency_order_2', amount: 0, customer_uid: 'agency_cust_2'}, function () {})`)
	rsp = sc.rsp()
	if rsp["success"] != false || str(rsp["error_code"]) != "F400" || !strings.Contains(str(rsp["error_msg"]), "imp00000000") || rsp["imp_uid"] != nil {
		t.Fatalf("rsp for an unknown agency code = %v", rsp)
	}
}

// forgedDone is a "done" message as billkey's pages post it, for request id
// RID (a JS variable), claiming a paid issuance.
const forgedDone = `{from: "billkey", action: "done", request_id: RID, rsp: {success: true, imp_success: true, imp_uid: "imp_FORGED",
	merchant_uid: "{Order ID}", customer_uid: "{Unique ID for the card (billing key)}", status: "paid", error_code: null, error_msg: null}}`

// openForForgery opens the testpg window from the merchant page and returns
// the SDK iframe's node and the call's request id. It installs a counter of
// the messages the page received, bumped one task after the SDK's listener
// (added by request_pay, so it runs first) has seen each one: a callback such
// a message caused (the SDK calls it from setTimeout 0) has run by then.
func openForForgery(sc *scenario) (*chromedp.Node, string) {
	sc.t.Helper()
	sc.open(nil)
	sc.do("request_pay", chromedp.Click(chromedp.ID(testpgUI.button)))
	fr := sc.frame(testpgUI.ready)
	sc.do("overlay shown", chromedp.WaitVisible(chromedp.ID("billkey-imp-close")))
	sc.shot("1-window")
	evalJS[chromedp.Void](sc, "message counter", `window.__seen = 0;
		window.addEventListener("message", function () { setTimeout(function () { window.__seen++; }, 0); });`)
	rid := evalJS[string](sc, "request id", `document.getElementById("billkey-imp-frame").name.replace(/^billkey_imp_/, "")`)
	if !strings.HasPrefix(rid, "req_") {
		sc.t.Fatalf("request id %q", rid)
	}
	return fr, rid
}

// ignoredAll waits until the page has handled n messages, then checks that
// none of them reached the callback, closed the overlay or raised an alert.
func ignoredAll(sc *scenario, n int) {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(sc.tab, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`window.__seen >= %d`, n),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second))); err != nil {
		sc.t.Fatalf("forged messages not delivered: %v (seen %d of %d)", err, evalJS[int](sc, "seen", `window.__seen`), n)
	}
	if got := evalJS[string](sc, "rsp after forgeries", `JSON.stringify(window.__rsp === undefined ? "none" : window.__rsp)`); got != `"none"` {
		sc.t.Fatalf("the callback ran with a forged message: %s", got)
	}
	if n := evalJS[int](sc, "overlay", `document.querySelectorAll("#billkey-imp-overlay").length`); n != 1 {
		sc.t.Fatalf("overlay count %d after forged messages", n)
	}
	select {
	case d := <-sc.dialogs:
		sc.t.Fatalf("alert(%q) after forged messages", d)
	default:
	}
	sc.shot("2-after-forgeries")
}

// TestBrowserForgedMessages: while a window is open, messages posted into
// the merchant page that claim to be billkey's "done" do not reach the
// callback when they come from another origin (even from inside the SDK's
// own iframe) or carry another request id (even from billkey's origin and
// that iframe); the real result still does.
func TestBrowserForgedMessages(t *testing.T) {
	browser(t)
	t.Parallel()
	s := apptest.Start(t, apptest.Options{})

	t.Run("page_origin_and_other_request_id", func(t *testing.T) {
		t.Parallel()
		sc := newScenario(t, s)
		fr, rid := openForForgery(sc)

		// 1. The right request id, from the merchant page's own origin (and
		// window), as an object and as a JSON string.
		evalJS[chromedp.Void](sc, "forge from the merchant page", `(function () { var RID = "`+rid+`"; var m = `+forgedDone+`;
			window.postMessage(m, "*"); window.postMessage(JSON.stringify(m), "*"); })()`)

		// 2. From billkey's origin and the SDK's own iframe (the PG window is
		// served by billkey) with other request ids: a function called on a
		// node of that window's document runs in that window.
		ctx, cancel := context.WithTimeout(sc.tab, 10*time.Second)
		defer cancel()
		inFrame, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(testpgUI.ready), chromedp.FromNode(fr)))
		if err != nil || len(inFrame) != 1 {
			t.Fatalf("node in the SDK frame: %v", err)
		}
		obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{NodeID: inFrame[0].NodeID})
		if err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{ObjectID: obj.Object.ObjectID,
			ReturnByValue: ptrTo(true), FunctionDeclaration: `function () {
			var w = this.ownerDocument.defaultView, RID = "req_forged_1", m = ` + forgedDone + `;
			w.parent.postMessage(m, "*"); w.parent.postMessage(JSON.stringify(m), "*");
			RID = "` + rid + `x"; w.parent.postMessage(` + forgedDone + `, "*");
			return w.location.origin; }`})
		if err != nil || res.ExceptionDetails != nil {
			t.Fatalf("forge in the SDK frame: %v %+v", err, res.ExceptionDetails)
		}
		if o := string(res.Result.Value); o != `"`+s.URL+`"` {
			t.Fatalf("forged from origin %s, want billkey's %s", o, s.URL)
		}
		ignoredAll(sc, 5)

		// The real window still completes and its rsp is the callback's.
		sc.do("buyer in the window", buyer{card: "4242-4242-4242-4242"}.steps(testpgUI, fr)...)
		rsp := sc.rsp()
		sc.alert("Success")
		sc.shot("3-result")
		wantRsp(t, rsp, true, "testpg", "ready")
		if str(rsp["imp_uid"]) == "imp_FORGED" {
			t.Fatalf("rsp = %v", rsp)
		}
		if p := sc.payment(str(rsp["imp_uid"])); p.Status != "ready" {
			t.Fatalf("payment = %+v", p)
		}
	})

	t.Run("wrong_origin_in_sdk_frame", func(t *testing.T) {
		t.Parallel()
		sc := newScenario(t, s)
		_, rid := openForForgery(sc)
		// The SDK's iframe navigated to a document of another origin (a data:
		// URL: origin "null") that posts the right request id.
		evalJS[chromedp.Void](sc, "forge from the SDK frame", `(function () {
			var src = '<script>var RID = "`+rid+`", m = `+strings.ReplaceAll(forgedDone, "\n", " ")+`;' +
				'parent.postMessage(m, "*"); parent.postMessage(JSON.stringify(m), "*");<\/script>';
			document.getElementById("billkey-imp-frame").src = "data:text/html," + encodeURIComponent(src); })()`)
		ignoredAll(sc, 2)

		// Closing the overlay still ends the call with billkey's own answer.
		sc.do("close", chromedp.Click(chromedp.ID("billkey-imp-close")))
		rsp := sc.rsp()
		sc.alert("Failed")
		sc.shot("3-closed")
		if rsp["success"] != false || str(rsp["error_code"]) != "F0005" || str(rsp["imp_uid"]) == "" || str(rsp["imp_uid"]) == "imp_FORGED" {
			t.Fatalf("rsp = %v", rsp)
		}
		if p := sc.payment(str(rsp["imp_uid"])); p.Status != "failed" {
			t.Fatalf("payment after close = %+v", p)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
