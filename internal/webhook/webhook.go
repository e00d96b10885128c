// Package webhook is billkey's i'mport notification outbox and its delivery.
//
// A payment change that needs a webhook inserts a webhook_events row in the
// same transaction that commits the change (Outbox.PaymentChanged, called by
// billing), so a notification exists if and only if the change committed and
// GET /payments/{imp_uid} already shows the new state when it is sent.
// Workers (River jobs, see internal/jobs) deliver due events: POST
// {imp_uid, merchant_uid, status} as JSON or a form, to the payment's
// notice_url or the merchant's webhook URL. Any answer but 2xx, or no answer,
// is retried with backoff (attempt^4 seconds ±10 %, capped) up to
// MaxAttempts; every attempt is recorded. With a merchant secret the request
// carries Standard Webhooks signature headers; the body and webhook-id are
// the same on every attempt, the timestamp and signature are fresh.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"billkey/internal/billing"
	"billkey/internal/clock"
	"billkey/internal/store"
	"billkey/internal/vault"
)

// Defaults of the retry policy.
const (
	DefaultMaxAttempts = 10
	DefaultMaxBackoff  = 6 * time.Hour
	leaseSeconds       = 90
)

// Service owns the outbox and delivers it.
type Service struct {
	Store *store.Store
	Vault *vault.Vault
	Clock clock.Clock
	Log   *slog.Logger
	// Client sends the webhooks; only ever to URLs merchants configured.
	Client *http.Client
	// MaxAttempts bounds automatic attempts (then the event is failed; a
	// manual resend still works). MaxBackoff caps the wait between them.
	MaxAttempts int
	MaxBackoff  time.Duration

	merchants *sync.Map // merchant id → cachedMerchant (webhook settings)
}

// merchantCacheTTL bounds how long a merchant's webhook URL and content
// type are reused when queuing notifications (they change only by admin
// commands; a change is picked up within this time).
const merchantCacheTTL = 5 * time.Second

type cachedMerchant struct {
	m     store.Merchant
	until time.Time
}

func (s *Service) merchant(ctx context.Context, q store.Q, id int64) (store.Merchant, error) {
	if v, ok := s.merchants.Load(id); ok {
		if c := v.(cachedMerchant); time.Now().Before(c.until) {
			return c.m, nil
		}
	}
	m, err := q.MerchantByID(ctx, id)
	if err == nil {
		s.merchants.Store(id, cachedMerchant{m: m, until: time.Now().Add(merchantCacheTTL)})
	}
	return m, err
}

// New fills defaults.
func New(s Service) *Service {
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = DefaultMaxBackoff
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Client == nil {
		s.Client = NewClient()
	}
	s.merchants = &sync.Map{}
	return &s
}

// NewClient is the webhook HTTP client: 10 s to connect, 30 s in all, no
// redirects followed (a 3xx is a failed attempt), no proxy.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     60 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// PaymentChanged is billing.Events: it queues the webhook of a payment change
// inside the transaction that commits it. No URL configured: nothing queued.
func (s *Service) PaymentChanged(ctx context.Context, q store.Q, p store.Payment, reason string) error {
	if reason == billing.EventIssued {
		return nil // i'mport sends no webhook for an issuance without a charge
	}
	target := p.NoticeURL
	m, err := s.merchant(ctx, q, p.MerchantID)
	if err != nil {
		return err
	}
	if target == "" {
		target = m.WebhookURL
	}
	if target == "" {
		return nil
	}
	ct := m.WebhookContentType
	if ct != "form" {
		ct = "json"
	}
	now := s.Clock.Now().Unix()
	_, err = q.InsertWebhookEvent(ctx, store.WebhookEvent{MerchantID: p.MerchantID, EventID: NewEventID(), ImpUID: p.ImpUID,
		MerchantUID: p.MerchantUID, Status: p.Status, Reason: reason, URL: target, ContentType: ct,
		Body: Body(ct, p.ImpUID, p.MerchantUID, p.Status), NextAttemptAt: now, CreatedAt: now})
	return err
}

// NewEventID returns a webhook-id: msg_ + 26 hex characters.
func NewEventID() string {
	b := make([]byte, 13)
	rand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}

// Body is the i'mport notification body in the content type.
func Body(contentType, impUID, merchantUID, status string) string {
	if contentType == "form" {
		return url.Values{"imp_uid": {impUID}, "merchant_uid": {merchantUID}, "status": {status}}.Encode()
	}
	b, _ := json.Marshal(struct {
		ImpUID      string `json:"imp_uid"`
		MerchantUID string `json:"merchant_uid"`
		Status      string `json:"status"`
	}{impUID, merchantUID, status})
	return string(b)
}

// Backoff is the wait after the attempt-th failed attempt (1-based):
// attempt^4 seconds ±10 %, at most max.
func Backoff(attempt int, max time.Duration) time.Duration {
	d := time.Duration(math.Pow(float64(attempt), 4) * float64(time.Second))
	d = time.Duration(float64(d) * (0.9 + 0.2*mrand.Float64()))
	if d < time.Second {
		d = time.Second
	}
	if d > max {
		d = max
	}
	return d
}

// Signature returns the Standard Webhooks signature header value for one
// secret ("whsec_" + base64 key): v1,<base64 HMAC-SHA256(id.ts.body)>.
func Signature(secret, id string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook: bad secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Verify checks Standard Webhooks headers against the raw body, allowing
// tolerance between the timestamp and now. Receivers can copy it.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return errors.New("webhook: missing signature headers")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return errors.New("webhook: bad webhook-timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp outside tolerance")
	}
	want, err := Signature(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: no matching signature")
}

// NewSecret returns a fresh signing secret: whsec_ + base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// SetSecret makes a new signing secret for the merchant (sealed by the
// vault) and returns it; the old one stops being used at once.
func (s *Service) SetSecret(ctx context.Context, merchantID int64) (string, error) {
	secret := NewSecret()
	enc, err := s.Vault.Seal(ctx, merchantID, "webhook-secret", []byte(secret))
	if err != nil {
		return "", err
	}
	err = s.Store.Write(ctx, func(q store.Q) error { return q.SetWebhookSecret(ctx, merchantID, enc, s.Clock.Now().Unix()) })
	return secret, err
}

// RemoveSecret turns signing off for the merchant.
func (s *Service) RemoveSecret(ctx context.Context, merchantID int64) error {
	return s.Store.Write(ctx, func(q store.Q) error { return q.SetWebhookSecret(ctx, merchantID, nil, 0) })
}

func (s *Service) secret(ctx context.Context, merchantID int64) (string, error) {
	enc, err := s.Store.Read().WebhookSecret(ctx, merchantID)
	if store.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	b, err := s.Vault.Open(ctx, merchantID, "webhook-secret", enc)
	return string(b), err
}

// ErrNotDue means the event was not claimable (delivered, not due, or being
// sent by another worker).
var ErrNotDue = errors.New("webhook: event not due or already being sent")

// Deliver makes one attempt at event id: a due automatic attempt, or (manual)
// a resend whatever its state. It records the attempt and the event's next state.
func (s *Service) Deliver(ctx context.Context, id int64, manual bool) (store.WebhookEvent, store.WebhookAttempt, error) {
	realNow := time.Now().Unix()
	var ev store.WebhookEvent
	err := s.Store.Write(ctx, func(q store.Q) error {
		var err error
		ev, err = q.ClaimWebhook(ctx, id, s.Clock.Now().Unix(), realNow, realNow+leaseSeconds, manual)
		return err
	})
	if store.IsNotFound(err) {
		return ev, store.WebhookAttempt{}, ErrNotDue
	}
	if err != nil {
		return ev, store.WebhookAttempt{}, err
	}
	secret, err := s.secret(ctx, ev.MerchantID)
	if err != nil {
		s.release(ctx, ev.ID)
		return ev, store.WebhookAttempt{}, err
	}
	att := store.WebhookAttempt{EventID: ev.ID, Attempt: ev.Attempts + 1, Manual: manual, URL: ev.URL, At: s.Clock.Now().Unix()}
	start := time.Now()
	code, sendErr := s.send(ctx, ev, secret)
	att.DurationMS = time.Since(start).Milliseconds()
	att.StatusCode = int64(code)
	delivered := sendErr == nil && code >= 200 && code < 300
	switch {
	case sendErr != nil:
		att.Error = sendErr.Error()
	case !delivered:
		att.Error = fmt.Sprintf("HTTP %d", code)
	}
	var nextAt int64
	if !delivered && !manual && att.Attempt < int64(s.MaxAttempts) {
		nextAt = s.Clock.Now().Add(Backoff(int(att.Attempt), s.MaxBackoff)).Unix()
	}
	var out store.WebhookEvent
	err = s.Store.Write(context.WithoutCancel(ctx), func(q store.Q) error {
		var err error
		out, err = q.RecordWebhookAttempt(ctx, att, delivered, nextAt, s.Clock.Now().Unix())
		return err
	})
	if err != nil {
		return ev, att, err
	}
	if !delivered {
		s.Log.Info("webhook attempt failed", "event", ev.EventID, "imp_uid", ev.ImpUID, "attempt", att.Attempt,
			"status_code", code, "err", att.Error, "state", out.State)
	}
	return out, att, nil
}

func (s *Service) release(ctx context.Context, id int64) {
	_ = s.Store.Write(context.WithoutCancel(ctx), func(q store.Q) error {
		_, err := q.Exec(ctx, `UPDATE webhook_events SET lease_until = 0 WHERE id = $1`, id)
		return err
	})
}

func (s *Service) send(ctx context.Context, ev store.WebhookEvent, secret string) (int, error) {
	body := []byte(ev.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if ev.ContentType == "form" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "billkey-webhook/1")
	req.Header.Set("webhook-id", ev.EventID)
	if secret != "" {
		ts := time.Now().Unix()
		sig, err := Signature(secret, ev.EventID, ts, body)
		if err != nil {
			return 0, err
		}
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", sig)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
