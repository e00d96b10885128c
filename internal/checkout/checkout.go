// Package checkout is billkey's browser side: the IMP SDK (iamport.js) that
// merchant pages load, and the window flow behind IMP.request_pay for
// billing-key issuance.
//
// Flow (PC, or mobile without m_redirect_url): the SDK adds a hidden overlay
// with an iframe on billkey's /checkout/frame. The frame says "ready" to the
// merchant page, receives the params, asks POST /checkout/start (same
// origin), which validates, records the ready payment (billing.StartWindow)
// and returns the PG's window URL; the frame says "open" (the SDK shows the
// overlay with its ✕ button) and navigates to the PG. The PG sends the buyer
// back to billkey's /checkout/r/… URL, billkey completes the issuance
// (billing.CompleteWindow) and the page posts the rsp to the merchant page.
// Closing the overlay loads the window's cancel URL in the iframe: the payment
// is marked failed and the rsp (success false) comes back the same way.
//
// Mobile with m_redirect_url: the SDK submits a top-level form to
// POST /checkout/redirect, billkey redirects to the PG's mobile window, and
// after completion redirects to m_redirect_url?imp_uid=…&merchant_uid=…
// &imp_success=…[&error_code=…&error_msg=…].
//
// Messages: the SDK accepts only messages whose origin is billkey's (from its
// own script URL, or the return origin the frame announced) and whose
// request_id is the current call's; billkey's pages accept only messages
// from the merchant origin passed when the frame opened, post only to that
// origin, and may only be framed by it (CSP frame-ancestors). The merchant
// origin, request id and m_redirect_url travel in billkey's return URLs,
// HMAC-signed with a per-merchant key sealed by the vault.
//
// rsp.error_code: F400 refused before any window (bad params, used
// merchant_uid, unknown merchant or channel), F0005 the buyer cancelled or
// closed the window, the PG's own code when it gave one (e.g. Kakao -780,
// PAYCO 3101), F500 otherwise.
package checkout

import (
	"context"
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"billkey/internal/billing"
	"billkey/internal/store"
	"billkey/internal/vault"
)

//go:embed iamport.js
var sdkJS []byte

// Config is what the checkout needs.
type Config struct {
	Billing   *billing.Service
	Store     *store.Store
	Vault     *vault.Vault
	PublicURL string // billkey's own absolute URL (PG return URLs)
	Log       *slog.Logger
	// Demo serves the demo merchant page at /demo (test mode).
	Demo bool
	// HTTPClient is used by the demo back end to call billkey's REST API.
	HTTPClient *http.Client
}

// Handler serves the SDK, the window flow and the demo page.
type Handler struct {
	cfg  Config
	keys sync.Map // merchant id → HMAC key
	demo *demo
}

// New builds the handler.
func New(cfg Config) *Handler {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	h := &Handler{cfg: cfg}
	if cfg.Demo {
		h.demo = &demo{h: h}
	}
	return h
}

// SDKPaths are the script URLs the SDK is served at.
var SDKPaths = []string{"/v1/iamport.js", "/js/iamport.payment-1.1.5.js", "/js/iamport.payment-1.1.7.js",
	"/js/iamport.payment-1.1.8.js", "/js/iamport.payment-1.2.0.js"}

// Routes mounts the checkout on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	for _, p := range SDKPaths {
		mux.HandleFunc("GET "+p, h.sdk)
	}
	mux.HandleFunc("GET /checkout/frame", h.frame)
	mux.HandleFunc("POST /checkout/start", h.start)
	mux.HandleFunc("POST /checkout/redirect", h.redirect)
	mux.HandleFunc("GET /checkout/r/{code}/{imp_uid}/{outcome}/{token}", h.complete)
	mux.HandleFunc("POST /checkout/r/{code}/{imp_uid}/{outcome}/{token}", h.complete)
	if h.demo != nil {
		h.demo.routes(mux)
	}
}

func (h *Handler) sdk(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(sdkJS)
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// frameAncestors lets only the merchant origin frame billkey's pages.
func frameAncestors(w http.ResponseWriter, origin string) {
	w.Header().Set("Content-Security-Policy", "frame-ancestors "+origin)
}

// frame is GET /checkout/frame?origin=…&rid=…: the messenger page the SDK
// puts in its (hidden) iframe.
func (h *Handler) frame(w http.ResponseWriter, r *http.Request) {
	origin, ok := checkOrigin(r.URL.Query().Get("origin"))
	rid := r.URL.Query().Get("rid")
	if !ok || !reqIDRe.MatchString(rid) {
		http.Error(w, "bad origin or request id", http.StatusBadRequest)
		return
	}
	noStore(w)
	frameAncestors(w, origin)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = frameTmpl.Execute(w, struct{ Origin, RID string }{origin, rid})
}

type startReq struct {
	Origin    string    `json:"origin"`
	RequestID string    `json:"request_id"`
	UserCode  string    `json:"user_code"`
	TierCode  string    `json:"tier_code"`
	Params    payParams `json:"params"`
}

type startResp struct {
	Rsp          *Rsp   `json:"rsp,omitempty"`
	URL          string `json:"url,omitempty"`
	ImpUID       string `json:"imp_uid,omitempty"`
	MerchantUID  string `json:"merchant_uid,omitempty"`
	CloseURL     string `json:"close_url,omitempty"`
	ReturnOrigin string `json:"return_origin,omitempty"`
}

func decodeStart(rd io.Reader) (startReq, error) {
	var in startReq
	dec := json.NewDecoder(io.LimitReader(rd, 64<<10))
	dec.UseNumber()
	err := dec.Decode(&in)
	if in.Params == nil {
		in.Params = payParams{}
	}
	return in, err
}

// open validates and starts a window. It returns the payment (if one was
// recorded) and the PG's start, or an error for the rsp.
func (h *Handler) open(ctx context.Context, in startReq, ua string, mobile bool, wc winCtx) (p store.Payment, target, closeURL string, err error) {
	m, err := h.cfg.Store.Read().MerchantByCode(ctx, strings.TrimSpace(in.UserCode))
	if store.IsNotFound(err) || in.UserCode == "" {
		return p, "", "", &paramError{"가맹점 식별코드(" + in.UserCode + ")를 찾을 수 없습니다. IMP.init()에 전달한 가맹점 식별코드를 확인해주세요. (unknown merchant code " + in.UserCode + ")"}
	}
	if err != nil {
		return p, "", "", err
	}
	wi, err := windowInput(in.Params, ua, mobile)
	if err != nil {
		return p, "", "", err
	}
	var urlErr error
	urls := func(code, impUID string) (string, string, string) {
		ret, cancel, fail, err := h.returnURLs(ctx, m.ID, code, impUID, wc)
		urlErr, closeURL = err, cancel
		return ret, cancel, fail
	}
	if _, err := h.merchantKey(ctx, m.ID); err != nil { // before a payment is recorded
		return p, "", "", err
	}
	p, start, err := h.cfg.Billing.StartWindow(ctx, m, wi, urls)
	if err == nil && urlErr != nil {
		err = urlErr
	}
	if err != nil {
		return p, "", "", err
	}
	target = start.PCURL
	if (mobile && start.MobileURL != "") || target == "" {
		target = start.MobileURL
	}
	return p, target, closeURL, nil
}

// start is POST /checkout/start, called by the frame (same origin).
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	in, err := decodeStart(r.Body)
	origin, ok := checkOrigin(in.Origin)
	if err != nil || !ok || !reqIDRe.MatchString(in.RequestID) {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	merchantUID := in.Params.str("merchant_uid")
	ua := r.UserAgent()
	mobile := isMobileUA(ua) || in.Params.bool("mobile")
	p, target, cancelURL, err := h.open(r.Context(), in, ua, mobile, winCtx{Origin: origin, RequestID: in.RequestID})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err != nil {
		h.logErr(r, "checkout: window refused", err, p.ImpUID)
		rsp := errorRsp(merchantUID, paymentPtr(p), err)
		rsp.RequestID = in.RequestID
		w.Write(mustJSON(startResp{Rsp: &rsp}))
		return
	}
	w.Write(mustJSON(startResp{URL: target, ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, CloseURL: cancelURL,
		ReturnOrigin: originOf(h.cfg.PublicURL)}))
}

func paymentPtr(p store.Payment) *store.Payment {
	if p.ImpUID == "" {
		return nil
	}
	return &p
}

func originOf(u string) string {
	o, _ := checkOrigin(u)
	if o == "" {
		if i := strings.Index(u, "://"); i >= 0 {
			if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
				return u[:i+3+j]
			}
		}
		return u
	}
	return o
}

func (h *Handler) logErr(r *http.Request, msg string, err error, impUID string) {
	lvl := slog.LevelInfo
	if billing.KindOf(err) == 0 {
		if _, ok := err.(*paramError); !ok {
			lvl = slog.LevelError
		}
	}
	h.cfg.Log.Log(r.Context(), lvl, msg, "imp_uid", impUID, "err", err)
}

// redirect is POST /checkout/redirect: the mobile flow's top-level form.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	in, err := decodeStart(strings.NewReader(r.PostForm.Get("payload")))
	mRedirect := in.Params.str("m_redirect_url")
	if err != nil || !checkRedirect(mRedirect) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = messageTmpl.Execute(w, "m_redirect_url이 올바르지 않습니다. (m_redirect_url must be an absolute http(s) URL)")
		return
	}
	p, target, _, err := h.open(r.Context(), in, r.UserAgent(), true, winCtx{MRedirect: mRedirect})
	if err != nil {
		h.logErr(r, "checkout: window refused", err, p.ImpUID)
		http.Redirect(w, r, redirectTo(mRedirect, errorRsp(in.Params.str("merchant_uid"), paymentPtr(p), err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// complete is GET|POST /checkout/r/{code}/{imp_uid}/{ok|cancel|fail}/{token}:
// where the PG sends the buyer back (and where the overlay's ✕ goes).
func (h *Handler) complete(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	ctx := r.Context()
	code, impUID, outcome := r.PathValue("code"), r.PathValue("imp_uid"), r.PathValue("outcome")
	var wo billing.WindowOutcome
	switch outcome {
	case "ok":
		wo = billing.WindowApproved
	case "cancel":
		wo = billing.WindowCancelled
	case "fail":
		wo = billing.WindowFailed
	default:
		http.NotFound(w, r)
		return
	}
	m, err := h.cfg.Store.Read().MerchantByCode(ctx, code)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	wc, err := h.verifyToken(ctx, m.ID, code, impUID, outcome, r.PathValue("token"))
	if err != nil {
		h.cfg.Log.Warn("checkout: bad return url", "imp_uid", impUID, "err", err)
		http.Error(w, "invalid or tampered return URL", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	params := r.Form
	p, err := h.cfg.Billing.CompleteWindow(ctx, m.ID, impUID, wo, params)
	var rsp Rsp
	switch {
	case err != nil && p.ImpUID == "":
		h.logErr(r, "checkout: complete", err, impUID)
		rsp = errorRsp("", nil, err)
	default:
		if err != nil {
			h.logErr(r, "checkout: complete", err, impUID)
		}
		rsp = paymentRsp(p)
	}
	if wc.MRedirect != "" {
		http.Redirect(w, r, redirectTo(wc.MRedirect, rsp), http.StatusSeeOther)
		return
	}
	rsp.RequestID = wc.RequestID
	frameAncestors(w, wc.Origin)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	msg := map[string]any{"from": "billkey", "action": "done", "request_id": wc.RequestID, "rsp": rsp}
	_ = doneTmpl.Execute(w, donePage{Success: rsp.Success, ImpUID: deref(rsp.ImpUID), MerchantUID: rsp.MerchantUID,
		ErrorMsg: deref(rsp.ErrorMsg), Msg: template.JS(mustJSON(msg)), Origin: template.JS(mustJSON(wc.Origin))})
}

type donePage struct {
	Success                       bool
	ImpUID, MerchantUID, ErrorMsg string
	Msg                           template.JS
	Origin                        template.JS
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
