/*! billkey IMP SDK — an i'mport (PortOne V1) compatible IMP for billing-key windows. No dependencies. */
(function (w, d) {
  "use strict";
  if (w.IMP && w.IMP.__billkey) return;

  // billkey's origin is where this script came from.
  var script = d.currentScript;
  if (!script) {
    var all = d.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/(v1\/iamport|js\/iamport\.payment-[0-9.]+)\.js(\?|#|$)/.test(all[i].src)) { script = all[i]; break; }
    }
  }
  var base = script ? new URL(script.src, w.location.href).origin : w.location.origin;

  var userCode = null, tierCode = null, current = null;

  function reqID() { return "req_" + Date.now() + "_" + Math.random().toString(36).slice(2, 10); }

  function isMobile(params) {
    if (params.mobile === true || params.mobile === "true") return true;
    return /Mobi|Android|iPhone|iPad|iPod|Windows Phone/i.test(w.navigator.userAgent || "");
  }

  function errorRsp(params, code, msg) {
    return {success: false, imp_success: false, imp_uid: null, merchant_uid: params.merchant_uid || null,
      pg_type: "payment", currency: "KRW", error_code: code, error_msg: msg};
  }

  function later(callback, rsp) {
    setTimeout(function () { if (typeof callback === "function") callback(rsp); }, 0);
  }

  function clone(params) {
    try { return JSON.parse(JSON.stringify(params || {})); } catch (e) { return {}; }
  }

  // Mobile with m_redirect_url: a full-page form post; billkey redirects to
  // the PG and, at the end, to m_redirect_url.
  function redirectFlow(params, rid) {
    var f = d.createElement("form");
    f.method = "POST";
    f.action = base + "/checkout/redirect";
    f.style.display = "none";
    var inp = d.createElement("input");
    inp.type = "hidden";
    inp.name = "payload";
    inp.value = JSON.stringify({user_code: userCode, tier_code: tierCode || "", request_id: rid, origin: w.location.origin, params: params});
    f.appendChild(inp);
    (d.body || d.documentElement).appendChild(f);
    f.submit();
  }

  function el(tag, css, attrs) {
    var e = d.createElement(tag);
    if (css) e.style.cssText = css;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  // PC (and mobile without m_redirect_url): an overlay with billkey's frame,
  // hidden until billkey has accepted the request and opens the PG window.
  function overlayFlow(params, rid, callback) {
    var ov = el("div", "position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.55);display:none;",
      {"class": "billkey-imp-overlay", id: "billkey-imp-overlay", role: "dialog", "aria-modal": "true"});
    var box = el("div", "position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);width:min(100vw,480px);" +
      "height:min(100vh,720px);background:#fff;border-radius:10px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.35);");
    var x = el("button", "position:absolute;top:6px;right:8px;z-index:2;width:36px;height:36px;border:0;border-radius:18px;" +
      "background:rgba(0,0,0,.6);color:#fff;font-size:20px;line-height:36px;cursor:pointer;",
      {type: "button", id: "billkey-imp-close", "aria-label": "닫기 (close)", title: "닫기 (close)"});
    x.textContent = "\u2715";
    var ifr = el("iframe", "width:100%;height:100%;border:0;display:block;",
      {id: "billkey-imp-frame", name: "billkey_imp_" + rid, title: "결제창 (payment window)", allow: "payment"});
    box.appendChild(ifr);
    box.appendChild(x);
    ov.appendChild(box);

    var st = {rid: rid, returnOrigin: null, closeURL: null, timer: null, done: false};
    current = st;

    function finish(rsp) {
      if (st.done) return;
      st.done = true;
      clearTimeout(st.timer);
      w.removeEventListener("message", onMessage);
      if (ov.parentNode) ov.parentNode.removeChild(ov);
      if (current === st) current = null;
      if (rsp && typeof rsp === "object") delete rsp.request_id;
      later(callback, rsp);
    }

    function onMessage(ev) {
      if (ev.source !== ifr.contentWindow) return;
      if (ev.origin !== base && ev.origin !== st.returnOrigin) return;
      var m = ev.data;
      if (typeof m === "string") { try { m = JSON.parse(m); } catch (e) { return; } }
      if (!m || m.from !== "billkey" || m.request_id !== rid) return;
      if (m.action === "ready" && ev.origin === base) {
        ifr.contentWindow.postMessage({action: "payment", from: "iamport-sdk", request_id: rid,
          user_code: userCode, tier_code: tierCode || "", data: params}, base);
      } else if (m.action === "open" && ev.origin === base) {
        clearTimeout(st.timer);
        st.closeURL = m.close_url || null;
        st.returnOrigin = m.return_origin || null;
        ov.style.display = "block";
      } else if (m.action === "done") {
        finish(m.rsp);
      }
    }

    x.addEventListener("click", function () {
      ov.style.display = "none";
      if (!st.closeURL) {
        finish(errorRsp(params, "F0005", "사용자가 결제를 취소하였습니다. (the buyer closed the payment window)"));
        return;
      }
      // billkey marks the payment failed and answers with the rsp ("done").
      ifr.src = st.closeURL;
      st.timer = setTimeout(function () {
        finish(errorRsp(params, "F0005", "사용자가 결제를 취소하였습니다. (the buyer closed the payment window)"));
      }, 15000);
    });

    w.addEventListener("message", onMessage);
    st.timer = setTimeout(function () {
      finish(errorRsp(params, "F500", "결제창을 열 수 없습니다. billkey에 연결하지 못했습니다. (could not reach billkey)"));
    }, 20000);
    ifr.src = base + "/checkout/frame?origin=" + encodeURIComponent(w.location.origin) + "&rid=" + encodeURIComponent(rid);
    (d.body || d.documentElement).appendChild(ov);
  }

  var IMP = {
    __billkey: true,
    version: "billkey-1",
    init: function (code) { userCode = code == null ? null : String(code); tierCode = null; },
    agency: function (code, tier) { userCode = code == null ? null : String(code); tierCode = tier == null ? null : String(tier); },
    request_pay: function (params, callback) {
      params = clone(params);
      if (!params.merchant_uid) params.merchant_uid = "nobody_" + Date.now();
      if (!params.pay_method) params.pay_method = "card";
      if (!userCode) {
        later(callback, errorRsp(params, "F400", "IMP.init(가맹점 식별코드)를 먼저 호출해주세요. (call IMP.init first)"));
        return;
      }
      if (current) {
        later(callback, errorRsp(params, "F400", "이미 결제창이 열려 있습니다. (a payment window is already open)"));
        return;
      }
      var rid = reqID();
      if (params.m_redirect_url && isMobile(params)) redirectFlow(params, rid);
      else overlayFlow(params, rid, callback);
    }
  };
  w.IMP = IMP;
})(window, document);
