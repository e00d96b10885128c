package checkout

import "html/template"

// frameTmpl is the messenger page inside the SDK's iframe: it talks only to
// the merchant origin it was opened for, and only about its request id.
var frameTmpl = template.Must(template.New("frame").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>billkey checkout</title>
<style>body{font-family:system-ui,sans-serif;display:flex;align-items:center;justify-content:center;height:90vh;color:#555}</style>
</head><body><p id="bk-status">결제창을 여는 중… (opening the payment window)</p>
<script>
(function () {
  "use strict";
  var origin = {{.Origin}}, rid = {{.RID}}, started = false;
  function post(m) { m.from = "billkey"; m.request_id = rid; window.parent.postMessage(m, origin); }
  function fail(mu, code, msg) {
    post({action: "done", rsp: {success: false, imp_success: false, imp_uid: null, merchant_uid: mu || null,
      pg_type: "payment", currency: "KRW", error_code: code, error_msg: msg, request_id: rid}});
  }
  window.addEventListener("message", function (ev) {
    if (ev.origin !== origin || ev.source !== window.parent) return;
    var m = ev.data;
    if (typeof m === "string") { try { m = JSON.parse(m); } catch (e) { return; } }
    if (!m || m.request_id !== rid || m.action !== "payment" || started) return;
    started = true;
    var data = m.data || {};
    fetch("/checkout/start", {method: "POST", credentials: "omit", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({origin: origin, request_id: rid, user_code: m.user_code || "", tier_code: m.tier_code || "", params: data})})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (res) {
        if (res.rsp) { post({action: "done", rsp: res.rsp}); return; }
        post({action: "open", imp_uid: res.imp_uid, merchant_uid: res.merchant_uid, close_url: res.close_url, return_origin: res.return_origin});
        window.location.replace(res.url);
      })
      .catch(function (e) { fail(data.merchant_uid, "F500", "결제창을 열 수 없습니다. (" + e.message + ")"); });
  });
  post({action: "ready"});
})();
</script></body></html>`))

// doneTmpl ends a window inside the overlay: it shows the outcome and posts
// the rsp to the merchant page (and only to its origin).
var doneTmpl = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>billkey checkout — {{if .Success}}완료{{else}}실패{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;text-align:center}
.ok{color:#0a7d33}.bad{color:#b00020}small{color:#777}</style>
</head><body>
{{if .Success}}<h1 class="ok" id="bk-result">카드 등록 완료 (card registered)</h1>
{{else}}<h1 class="bad" id="bk-result">결제 실패 (not completed)</h1><p id="bk-error">{{.ErrorMsg}}</p>{{end}}
<p><small>imp_uid {{.ImpUID}} · merchant_uid {{.MerchantUID}}</small></p>
<p><small>가맹점 페이지로 돌아갑니다… (returning to the shop)</small></p>
<script>
(function () {
  if (window.parent !== window) window.parent.postMessage({{.Msg}}, {{.Origin}});
})();
</script></body></html>`))

var messageTmpl = template.Must(template.New("msg").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>billkey checkout</title></head>
<body style="font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto"><h1>billkey</h1><p id="bk-error">{{.}}</p></body></html>`))
