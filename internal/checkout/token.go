package checkout

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"billkey/internal/store"
)

// winCtx is what billkey carries across the PG round trip for one window:
// where the result goes. Either Origin+RequestID (callback: the rsp is posted
// to the merchant page) or MRedirect (the browser is redirected).
type winCtx struct {
	Origin    string
	RequestID string
	MRedirect string
}

const (
	hmacPurpose = "checkout-hmac-key"
	// maxPGURL is the longest return URL a PG takes (Kakao Pay: 255 chars).
	maxPGURL = 255
	// metaRef marks a token whose context is kept in the meta table (the URL
	// would have been too long for the PG).
	metaRef = "~"
)

func hmacMetaKey(merchantID int64) string   { return "checkout_hmac_key:" + itoa(merchantID) }
func ctxMetaKey(code, impUID string) string { return "checkout_ctx:" + code + ":" + impUID }

// merchantKey returns the merchant's HMAC key for window tokens: 32 random
// bytes sealed with the vault and stored in meta on first use (so every node
// and every restart signs and checks with the same key); cached in memory.
func (h *Handler) merchantKey(ctx context.Context, merchantID int64) ([]byte, error) {
	if k, ok := h.keys.Load(merchantID); ok {
		return k.([]byte), nil
	}
	rd := h.cfg.Store.Read()
	enc, err := rd.Meta(ctx, hmacMetaKey(merchantID))
	if store.IsNotFound(err) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		sealed, err := h.cfg.Vault.Seal(ctx, merchantID, hmacPurpose, key)
		if err != nil {
			return nil, err
		}
		err = h.cfg.Store.Write(ctx, func(q store.Q) error {
			var e error
			enc, e = q.InsertMetaIfAbsent(ctx, hmacMetaKey(merchantID), base64.StdEncoding.EncodeToString(sealed))
			return e
		})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, err
	}
	key, err := h.cfg.Vault.Open(ctx, merchantID, hmacPurpose, ct)
	if err != nil {
		return nil, err
	}
	h.keys.Store(merchantID, key)
	return key, nil
}

func sign(key []byte, code, impUID, outcome, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("billkey-checkout|" + code + "|" + impUID + "|" + outcome + "|" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func encodeCtx(c winCtx) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Origin + "\n" + c.RequestID + "\n" + c.MRedirect))
}

func decodeCtx(s string) (winCtx, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return winCtx{}, err
	}
	parts := strings.SplitN(string(b), "\n", 3)
	if len(parts) != 3 {
		return winCtx{}, errors.New("checkout: bad token payload")
	}
	return winCtx{Origin: parts[0], RequestID: parts[1], MRedirect: parts[2]}, nil
}

// Outcomes in return URL paths.
var outcomes = []string{"ok", "cancel", "fail"}

// returnURLs builds billkey's return/cancel/fail URLs for one window. Each
// carries the window context and an HMAC over merchant code, imp_uid,
// outcome and context. When a URL would be longer than a PG accepts, the
// context is kept in the meta table instead and the URL carries a reference.
func (h *Handler) returnURLs(ctx context.Context, merchantID int64, code, impUID string, c winCtx) (ret, cancel, fail string, err error) {
	key, err := h.merchantKey(ctx, merchantID)
	if err != nil {
		return "", "", "", err
	}
	build := func(payload string) []string {
		out := make([]string, len(outcomes))
		for i, o := range outcomes {
			out[i] = h.cfg.PublicURL + "/checkout/r/" + code + "/" + impUID + "/" + o + "/" + payload + "." + sign(key, code, impUID, o, payload)
		}
		return out
	}
	urls := build(encodeCtx(c))
	for _, u := range urls {
		if len(u) > maxPGURL {
			if err := h.cfg.Store.Write(ctx, func(q store.Q) error { return q.SetMeta(ctx, ctxMetaKey(code, impUID), encodeCtx(c)) }); err != nil {
				return "", "", "", err
			}
			urls = build(metaRef)
			break
		}
	}
	return urls[0], urls[1], urls[2], nil
}

// verifyToken checks a return URL's token and returns its window context.
func (h *Handler) verifyToken(ctx context.Context, merchantID int64, code, impUID, outcome, token string) (winCtx, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return winCtx{}, errors.New("checkout: malformed token")
	}
	key, err := h.merchantKey(ctx, merchantID)
	if err != nil {
		return winCtx{}, err
	}
	if !hmac.Equal([]byte(sig), []byte(sign(key, code, impUID, outcome, payload))) {
		return winCtx{}, errors.New("checkout: bad token signature")
	}
	if payload == metaRef {
		v, err := h.cfg.Store.Read().Meta(ctx, ctxMetaKey(code, impUID))
		if err != nil {
			return winCtx{}, err
		}
		payload = v
	}
	return decodeCtx(payload)
}
