package checkout

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"billkey/internal/accounts"
	"billkey/internal/store"
)

// The demo merchant: a page at /demo that registers a card through the SDK,
// and a tiny merchant back end at /demo/api/… that charges it the way a real
// merchant server would: POST /users/getToken, then
// POST /subscribe/payments/again, over HTTP with REST credentials.
//
// The back end has its own API key, created on first use. Only its hash is in
// api_keys (like every secret); the secret itself is kept sealed with the
// vault (purpose "demo-backend-secret") in the meta table and opened when a
// token is needed.

const (
	metaDemoCode   = "demo_merchant_code" // written by app.EnsureDemo
	metaDemoKey    = "demo_backend_imp_key"
	metaDemoSecret = "demo_backend_secret_sealed"
	demoPurpose    = "demo-backend-secret"
)

type demo struct {
	h  *Handler
	mu sync.Mutex // creating credentials, the token cache

	token    string
	tokenExp time.Time
}

func (d *demo) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo", d.page)
	mux.HandleFunc("POST /demo/api/charge", d.charge)
	mux.HandleFunc("GET /demo/api/payments/{imp_uid}", d.payment)
}

func (d *demo) merchant(ctx context.Context) (store.Merchant, error) {
	code, err := d.h.cfg.Store.Read().Meta(ctx, metaDemoCode)
	if err != nil {
		return store.Merchant{}, err
	}
	return d.h.cfg.Store.Read().MerchantByCode(ctx, code)
}

func randString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		x, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[x.Int64()]
	}
	return string(b)
}

// creds returns the back end's key and secret, creating them (fresh=true:
// replacing them, e.g. after the merchant's secrets were rotated).
func (d *demo) creds(ctx context.Context, m store.Merchant, fresh bool) (impKey, secret string, err error) {
	rd := d.h.cfg.Store.Read()
	if !fresh {
		k, err1 := rd.Meta(ctx, metaDemoKey)
		enc, err2 := rd.Meta(ctx, metaDemoSecret)
		if err1 == nil && err2 == nil {
			ct, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				return "", "", err
			}
			pt, err := d.h.cfg.Vault.Open(ctx, m.ID, demoPurpose, ct)
			if err != nil {
				return "", "", err
			}
			return k, string(pt), nil
		}
		if (err1 != nil && !store.IsNotFound(err1)) || (err2 != nil && !store.IsNotFound(err2)) {
			return "", "", errors.Join(err1, err2)
		}
	}
	secret = randString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 80)
	sealed, err := d.h.cfg.Vault.Seal(ctx, m.ID, demoPurpose, []byte(secret))
	if err != nil {
		return "", "", err
	}
	for attempt := 0; attempt < 5; attempt++ {
		impKey = randString("0123456789", 16)
		err = d.h.cfg.Store.Write(ctx, func(q store.Q) error {
			if _, err := q.InsertAPIKey(ctx, store.APIKey{MerchantID: m.ID, ImpKey: impKey, SecretHash: accounts.HashSecret(secret),
				CreatedAt: time.Now().Unix()}); err != nil {
				return err
			}
			if err := q.SetMeta(ctx, metaDemoKey, impKey); err != nil {
				return err
			}
			return q.SetMeta(ctx, metaDemoSecret, base64.StdEncoding.EncodeToString(sealed))
		})
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	return impKey, secret, err
}

type envelope struct {
	Code     int             `json:"code"`
	Message  *string         `json:"message"`
	Response json.RawMessage `json:"response"`
}

func (d *demo) call(ctx context.Context, method, path, token string, body any) (int, envelope, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, d.h.cfg.PublicURL+path, rd)
	if err != nil {
		return 0, envelope{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.h.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, envelope{}, err
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&env); err != nil {
		return resp.StatusCode, env, fmt.Errorf("%s %s: HTTP %d, not an i'mport envelope: %w", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, env, nil
}

// accessToken gets (and caches) a token with the back end's credentials.
func (d *demo) accessToken(ctx context.Context, m store.Merchant) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.token != "" && time.Now().Before(d.tokenExp) {
		return d.token, nil
	}
	for _, fresh := range []bool{false, true} {
		key, secret, err := d.creds(ctx, m, fresh)
		if err != nil {
			return "", err
		}
		st, env, err := d.call(ctx, "POST", "/users/getToken", "", map[string]string{"imp_key": key, "imp_secret": secret})
		if err != nil {
			return "", err
		}
		if st == http.StatusUnauthorized {
			continue // the key was expired (secret rotation): make a new one
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			ExpiredAt   int64  `json:"expired_at"`
			Now         int64  `json:"now"`
		}
		if env.Code != 0 || json.Unmarshal(env.Response, &tok) != nil || tok.AccessToken == "" {
			return "", fmt.Errorf("getToken: HTTP %d code %d", st, env.Code)
		}
		d.token = tok.AccessToken
		d.tokenExp = time.Now().Add(time.Duration(tok.ExpiredAt-tok.Now)*time.Second - time.Minute)
		return d.token, nil
	}
	return "", errors.New("getToken refused the demo back end's credentials")
}

func demoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(mustJSON(v))
}

// apiCall runs one REST call as the demo merchant's back end and relays the
// i'mport envelope to the page.
func (d *demo) apiCall(w http.ResponseWriter, r *http.Request, method, path string, body any) {
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	m, err := d.merchant(ctx)
	if err != nil {
		demoJSON(w, http.StatusNotFound, map[string]string{"error": "no demo merchant (start billkey in test mode with --demo)"})
		return
	}
	for attempt := 0; attempt < 2; attempt++ {
		tok, err := d.accessToken(ctx, m)
		if err != nil {
			d.h.cfg.Log.Error("demo: token", "err", err)
			demoJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		st, env, err := d.call(ctx, method, path, tok, body)
		if err != nil {
			demoJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		if st == http.StatusUnauthorized && attempt == 0 {
			d.mu.Lock()
			d.token = ""
			d.mu.Unlock()
			continue
		}
		demoJSON(w, http.StatusOK, map[string]any{"http_status": st, "request": map[string]any{"method": method, "path": path, "body": body}, "envelope": env})
		return
	}
}

// charge is POST /demo/api/charge {customer_uid, amount, name}: the demo
// merchant's server charging a stored key.
func (d *demo) charge(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CustomerUID string      `json:"customer_uid"`
		Amount      json.Number `json:"amount"`
		Name        string      `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&in); err != nil || strings.TrimSpace(in.CustomerUID) == "" {
		demoJSON(w, http.StatusBadRequest, map[string]string{"error": "customer_uid and amount are required"})
		return
	}
	if in.Name == "" {
		in.Name = "billkey 데모 정기결제"
	}
	body := map[string]any{"customer_uid": in.CustomerUID, "merchant_uid": "demo_again_" + randString("0123456789abcdef", 12),
		"amount": in.Amount, "name": in.Name}
	d.apiCall(w, r, "POST", "/subscribe/payments/again", body)
}

// payment is GET /demo/api/payments/{imp_uid}.
func (d *demo) payment(w http.ResponseWriter, r *http.Request) {
	imp := r.PathValue("imp_uid")
	if !reqIDRe.MatchString(imp) {
		demoJSON(w, http.StatusBadRequest, map[string]string{"error": "bad imp_uid"})
		return
	}
	d.apiCall(w, r, "GET", "/payments/"+imp, nil)
}

func (d *demo) page(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	code := ""
	if m, err := d.merchant(r.Context()); err == nil {
		code = m.Code
	}
	_ = demoTmpl.Execute(w, struct{ Code string }{code})
}

var demoTmpl = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>billkey 데모 상점 (demo shop)</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;color:#222;background:#fafafa}
section{background:#fff;border:1px solid #ddd;border-radius:10px;padding:1rem 1.2rem;margin:1rem 0}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:0}
label{display:block;margin:.5rem 0 .2rem;font-weight:600}
input,select{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:.6rem 1.2rem;margin-top:.8rem;border-radius:8px;border:1px solid #888;background:#1a5fd0;color:#fff;cursor:pointer}
button:disabled{background:#aaa}
.row{display:grid;grid-template-columns:1fr 1fr;gap:0 1rem}
.hint{color:#666;font-size:.85rem}.ok{color:#0a7d33;font-weight:700}.bad{color:#b00020;font-weight:700}
pre{background:#f0f0f0;padding:.6rem;border-radius:6px;overflow:auto;font-size:.8rem;max-height:22rem}
.check{display:flex;gap:.5rem;align-items:center;font-weight:400}.check input{width:auto}
</style></head><body>
<h1>billkey 데모 상점 (demo shop)</h1>
{{if not .Code}}<section><p class="bad" id="demo-nomerchant">데모 가맹점이 없습니다. billkey를 test 모드와 --demo=true로 시작하세요.
(No demo merchant: start billkey in test mode with --demo=true.)</p></section>{{else}}
<p class="hint">가맹점 식별코드 (merchant code) <code id="demo-code">{{.Code}}</code> · 모든 PG는 billkey에 내장된 테스트 에뮬레이터입니다. 실제 결제는 일어나지 않습니다.
(Every PG here is a built-in test emulator; no real money moves.)</p>

<section>
<h2>1. 카드 등록 (register a card) — IMP.request_pay</h2>
<label for="demo-pg">PG</label>
<select id="demo-pg">
<option value="kakaopay">카카오페이 (kakaopay.TCSUBSCRIP) — 카드 또는 카카오머니 선택</option>
<option value="payco">PAYCO (payco.AUTOPAY) — 카드만, 금액은 표시용</option>
<option value="testpg">billkey test PG (testpg.billkey)</option>
</select>
<div class="row">
<div><label for="demo-customer">customer_uid</label><input id="demo-customer"></div>
<div><label for="demo-amount">amount (원)</label><input id="demo-amount" type="number" min="0" value="0"></div>
</div>
<p class="hint">카카오페이: amount가 0이면 등록만, 0보다 크면 등록과 동시에 결제됩니다. PAYCO: amount는 표시용이며 결제되지 않습니다.
(Kakao Pay: 0 registers only, more also charges. PAYCO: display only, never charged.)</p>
<div class="row">
<div><label for="demo-buyer">buyer_name</label><input id="demo-buyer" value="홍길동"></div>
<div><label for="demo-tel">buyer_tel</label><input id="demo-tel" value="010-1234-5678"></div>
</div>
<label class="check"><input type="checkbox" id="demo-redirect"> 모바일처럼 리디렉션으로 받기 (mobile flow: m_redirect_url)</label>
<p class="hint">결제창의 테스트 카드: normal(정상), decline(등록 거절), insufficient·suspended(등록은 되지만 이후 결제 거절).
(Test cards in the window: normal; decline fails registration; insufficient/suspended register but later charges fail.)</p>
<button id="demo-register" type="button">카드 등록하기 (register card)</button>
<p id="demo-register-result"></p>
<pre id="demo-rsp" hidden></pre>
</section>

<section>
<h2>2. 등록한 카드로 결제 (charge the registered card)</h2>
<p class="hint">데모 상점 서버(/demo/api)가 REST API로 POST /users/getToken → POST /subscribe/payments/again 을 호출합니다.
(The demo shop's server calls the REST API with its own API key.)</p>
<div class="row">
<div><label for="demo-charge-customer">customer_uid</label><input id="demo-charge-customer"></div>
<div><label for="demo-charge-amount">amount (원)</label><input id="demo-charge-amount" type="number" min="1" value="1000"></div>
</div>
<button id="demo-charge" type="button">결제하기 (charge)</button>
<p id="demo-charge-result"></p>
</section>

<section>
<h2>결제 정보 (payment JSON) — GET /payments/{imp_uid}</h2>
<pre id="demo-payment">(아직 없음 / nothing yet)</pre>
</section>
<script src="/v1/iamport.js"></script>
<script>
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  IMP.init({{.Code}});
  var cu = localStorage.getItem("billkey-demo-customer") || ("demo_customer_" + Math.random().toString(36).slice(2, 8));
  $("demo-customer").value = cu;
  $("demo-charge-customer").value = localStorage.getItem("billkey-demo-last-key") || cu;

  function show(el, ok, text) { el.className = ok ? "ok" : "bad"; el.textContent = text; }

  function showPayment(impUID) {
    if (!impUID) return;
    fetch("/demo/api/payments/" + encodeURIComponent(impUID)).then(function (r) { return r.json(); }).then(function (res) {
      $("demo-payment").textContent = JSON.stringify(res.envelope ? res.envelope.response : res, null, 2);
    });
  }

  function registered(ok, impUID, customerUID, msg) {
    if (ok) {
      show($("demo-register-result"), true, "카드가 등록되었습니다 (card registered): " + customerUID + " · imp_uid " + impUID);
      localStorage.setItem("billkey-demo-last-key", customerUID);
      $("demo-charge-customer").value = customerUID;
    } else {
      show($("demo-register-result"), false, "등록 실패 (failed): " + (msg || ""));
    }
    showPayment(impUID);
  }

  // Back from the mobile (m_redirect_url) flow?
  var q = new URLSearchParams(location.search);
  if (q.has("imp_success")) {
    var cuid = localStorage.getItem("billkey-demo-pending") || "";
    registered(q.get("imp_success") === "true", q.get("imp_uid"), cuid, q.get("error_msg"));
    $("demo-rsp").hidden = false;
    $("demo-rsp").textContent = "m_redirect_url query: " + location.search;
    history.replaceState(null, "", "/demo");
  }

  $("demo-register").addEventListener("click", function () {
    var customerUID = $("demo-customer").value.trim();
    localStorage.setItem("billkey-demo-customer", customerUID);
    localStorage.setItem("billkey-demo-pending", customerUID);
    var params = {
      pg: $("demo-pg").value,
      pay_method: "card",
      merchant_uid: "demo_issue_" + Date.now(),
      name: "billkey 데모 정기결제 (demo subscription)",
      amount: Number($("demo-amount").value || 0),
      customer_uid: customerUID,
      buyer_name: $("demo-buyer").value,
      buyer_tel: $("demo-tel").value,
      buyer_email: "demo@example.com"
    };
    if ($("demo-redirect").checked) { params.m_redirect_url = location.origin + "/demo"; params.mobile = true; }
    $("demo-register").disabled = true;
    $("demo-register-result").textContent = "결제창이 열렸습니다… (payment window open)";
    IMP.request_pay(params, function (rsp) {
      $("demo-register").disabled = false;
      $("demo-rsp").hidden = false;
      $("demo-rsp").textContent = "callback rsp:\n" + JSON.stringify(rsp, null, 2);
      registered(rsp.success, rsp.imp_uid, customerUID, rsp.error_msg);
    });
  });

  $("demo-charge").addEventListener("click", function () {
    $("demo-charge").disabled = true;
    $("demo-charge-result").textContent = "결제 중… (charging)";
    fetch("/demo/api/charge", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({customer_uid: $("demo-charge-customer").value.trim(), amount: Number($("demo-charge-amount").value || 0)})})
      .then(function (r) { return r.json(); })
      .then(function (res) {
        $("demo-charge").disabled = false;
        var env = res.envelope;
        if (!env) { show($("demo-charge-result"), false, "오류 (error): " + (res.error || "")); return; }
        if (env.code !== 0 || !env.response) {
          show($("demo-charge-result"), false, "결제 요청 거절 (refused): code " + env.code + " " + (env.message || ""));
          $("demo-payment").textContent = JSON.stringify(env, null, 2);
          return;
        }
        var p = env.response;
        if (p.status === "paid") show($("demo-charge-result"), true, "결제 완료 (paid): " + p.amount + "원 · " + p.pay_method + " · imp_uid " + p.imp_uid);
        else show($("demo-charge-result"), false, "결제 실패 (" + p.status + "): " + (p.fail_reason || ""));
        $("demo-payment").textContent = JSON.stringify(p, null, 2);
      })
      .catch(function (e) { $("demo-charge").disabled = false; show($("demo-charge-result"), false, String(e)); });
  });
})();
</script>
{{end}}
</body></html>`))
