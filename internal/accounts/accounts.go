// Package accounts manages merchants: their codes, REST API keys and
// secrets (stored hashed), PG channels (live credentials encrypted), and the
// i'mport access tokens (getToken semantics: 30 minutes, reused while valid,
// extended by 5 minutes when asked for in its last minute).
package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"billkey/internal/clock"
	"billkey/internal/store"
	"billkey/internal/vault"
)

// Token lifetime rules of i'mport.
const (
	TokenTTL       = 30 * time.Minute
	ExtendWindow   = time.Minute
	ExtendBy       = 5 * time.Minute
	tokenCacheTime = 5 * time.Second
)

var (
	ErrBadCredentials = errors.New("accounts: wrong imp_key or imp_secret")
	ErrBadToken       = errors.New("accounts: missing, unknown or expired token")
)

// Service is the merchant account service.
type Service struct {
	st    *store.Store
	vault *vault.Vault
	clock clock.Clock

	keyOnce  sync.Once
	tokenKey []byte
	keyErr   error

	cache sync.Map // token hash → cachedToken

	// getToken's fast path: API key rows for a few seconds, and the token
	// handed out for a key until its last minute (until then it cannot
	// change: it is only extended within that minute, or replaced after it).
	keys   sync.Map // imp_key → cachedKey
	issued sync.Map // api key id → TokenResult
}

type cachedKey struct {
	k     store.APIKey
	until time.Time
}

const keyCacheTime = 5 * time.Second

func (s *Service) apiKey(ctx context.Context, impKey string) (store.APIKey, error) {
	if v, ok := s.keys.Load(impKey); ok {
		if c := v.(cachedKey); time.Now().Before(c.until) {
			return c.k, nil
		}
	}
	k, err := s.st.Read().APIKeyByImpKey(ctx, impKey)
	if err == nil {
		s.keys.Store(impKey, cachedKey{k: k, until: time.Now().Add(keyCacheTime)})
	}
	return k, err
}

type cachedToken struct {
	merchantID int64
	expiresAt  int64
	until      time.Time
}

func New(st *store.Store, v *vault.Vault, c clock.Clock) *Service {
	return &Service{st: st, vault: v, clock: c}
}

// Credentials are shown once, when a key is created.
type Credentials struct {
	MerchantCode string `json:"merchant_code"`
	ImpKey       string `json:"imp_key"`
	ImpSecret    string `json:"imp_secret"`
}

func randDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		b[i] = alnum[d.Int64()]
	}
	return string(b)
}

// HashSecret hashes an API secret. Secrets are 80 random characters (~476
// bits), so a fast hash is safe and keeps getToken cheap.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte("billkey-secret|" + secret))
	return hex.EncodeToString(h[:])
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte("billkey-token|" + tok))
	return hex.EncodeToString(h[:])
}

// CreateMerchant creates a merchant with a fresh imp######## code (or the
// given one) and its first API key.
func (s *Service) CreateMerchant(ctx context.Context, name, code string) (store.Merchant, Credentials, error) {
	now := s.clock.Now().Unix()
	for attempt := 0; attempt < 20; attempt++ {
		c := code
		if c == "" {
			c = "imp" + randDigits(8)
		} else if !ValidMerchantCode(c) {
			return store.Merchant{}, Credentials{}, fmt.Errorf("merchant code must be imp followed by 8 digits: %q", c)
		}
		var m store.Merchant
		var cred Credentials
		err := s.st.Write(ctx, func(q store.Q) error {
			var err error
			m, err = q.InsertMerchant(ctx, store.Merchant{Code: c, Name: name, WebhookContentType: "json", CreatedAt: now})
			if err != nil {
				return err
			}
			cred, err = s.newKey(ctx, q, m, 0)
			return err
		})
		if errors.Is(err, store.ErrConflict) && code == "" {
			continue
		}
		return m, cred, err
	}
	return store.Merchant{}, Credentials{}, errors.New("accounts: could not find a free merchant code")
}

// ValidMerchantCode: imp + 8 digits.
func ValidMerchantCode(c string) bool {
	if len(c) != 11 || !strings.HasPrefix(c, "imp") {
		return false
	}
	_, err := strconv.ParseUint(c[3:], 10, 64)
	return err == nil
}

func (s *Service) newKey(ctx context.Context, q store.Q, m store.Merchant, attempt int) (Credentials, error) {
	secret := randAlnum(80)
	k, err := q.InsertAPIKey(ctx, store.APIKey{MerchantID: m.ID, ImpKey: randDigits(16), SecretHash: HashSecret(secret), CreatedAt: s.clock.Now().Unix()})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{MerchantCode: m.Code, ImpKey: k.ImpKey, ImpSecret: secret}, nil
}

// RotateSecret issues a new key/secret pair for the merchant; the old pairs
// keep working for grace (0: they stop at once).
func (s *Service) RotateSecret(ctx context.Context, merchantCode string, grace time.Duration) (Credentials, error) {
	var cred Credentials
	err := s.st.Write(ctx, func(q store.Q) error {
		m, err := q.MerchantByCode(ctx, merchantCode)
		if err != nil {
			return err
		}
		cred, err = s.newKey(ctx, q, m, 0)
		if err != nil {
			return err
		}
		k, err := q.APIKeyByImpKey(ctx, cred.ImpKey)
		if err != nil {
			return err
		}
		return q.ExpireAPIKeys(ctx, m.ID, k.ID, s.clock.Now().Add(grace).Unix())
	})
	// Cached key rows carry the old expiry: drop them (another process that
	// serves sees the change within keyCacheTime).
	s.keys.Clear()
	return cred, err
}

// ChannelSpec describes a channel to add.
type ChannelSpec struct {
	Provider    string
	MID         string
	Live        bool
	Default     bool
	BaseURL     string
	Credentials map[string]string
}

// AddChannel adds a PG channel; its credentials are sealed by the vault.
func (s *Service) AddChannel(ctx context.Context, merchantID int64, spec ChannelSpec) (store.Channel, error) {
	var enc []byte
	if len(spec.Credentials) > 0 {
		raw, _ := json.Marshal(spec.Credentials)
		var err error
		if enc, err = s.vault.Seal(ctx, merchantID, "channel-credentials", raw); err != nil {
			return store.Channel{}, err
		}
	}
	var ch store.Channel
	err := s.st.Write(ctx, func(q store.Q) error {
		existing, err := q.ChannelsOf(ctx, merchantID)
		if err != nil {
			return err
		}
		ch, err = q.InsertChannel(ctx, store.Channel{MerchantID: merchantID, Provider: spec.Provider, MID: spec.MID,
			Live: spec.Live, IsDefault: spec.Default || len(existing) == 0, BaseURL: spec.BaseURL, CredentialsEnc: enc,
			CreatedAt: s.clock.Now().Unix()})
		return err
	})
	return ch, err
}

// ChannelCredentials opens a channel's sealed credentials.
func (s *Service) ChannelCredentials(ctx context.Context, ch store.Channel) (map[string]string, error) {
	out := map[string]string{}
	if len(ch.CredentialsEnc) == 0 {
		return out, nil
	}
	raw, err := s.vault.Open(ctx, ch.MerchantID, "channel-credentials", ch.CredentialsEnc)
	if err != nil {
		return nil, err
	}
	err = json.Unmarshal(raw, &out)
	return out, err
}

// TokenResult is getToken's response.
type TokenResult struct {
	AccessToken string `json:"access_token"`
	Now         int64  `json:"now"`
	ExpiredAt   int64  `json:"expired_at"`
}

func (s *Service) key(ctx context.Context) ([]byte, error) {
	s.keyOnce.Do(func() {
		fresh, err := s.vault.Seal(ctx, vault.SystemMerchant, "token-key", vault.NewKey())
		if err != nil {
			s.keyErr = err
			return
		}
		var stored string
		err = s.st.Write(ctx, func(q store.Q) error {
			var err error
			stored, err = q.InsertMetaIfAbsent(ctx, "token_key", base64.StdEncoding.EncodeToString(fresh))
			return err
		})
		if err != nil {
			s.keyErr = err
			return
		}
		ct, err := base64.StdEncoding.DecodeString(stored)
		if err != nil {
			s.keyErr = err
			return
		}
		s.tokenKey, s.keyErr = s.vault.Open(ctx, vault.SystemMerchant, "token-key", ct)
	})
	return s.tokenKey, s.keyErr
}

// deriveToken: a token is an HMAC of (api key, sequence) under a key the
// vault keeps, so billkey can hand the same token out again while storing
// only its hash. 40 lowercase hex characters, like i'mport's.
func deriveToken(key []byte, apiKeyID, seq int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d|%d", apiKeyID, seq)
	return hex.EncodeToString(m.Sum(nil)[:20])
}

// GetToken implements POST /users/getToken.
func (s *Service) GetToken(ctx context.Context, impKey, impSecret string) (TokenResult, error) {
	tk, err := s.key(ctx)
	if err != nil {
		return TokenResult{}, err
	}
	now := s.clock.Now().Unix()
	k, err := s.apiKey(ctx, impKey)
	if store.IsNotFound(err) {
		return TokenResult{}, ErrBadCredentials
	}
	if err != nil {
		return TokenResult{}, err
	}
	if subtle.ConstantTimeCompare([]byte(k.SecretHash), []byte(HashSecret(impSecret))) != 1 || (k.ExpiresAt != 0 && k.ExpiresAt <= now) {
		return TokenResult{}, ErrBadCredentials
	}
	// Fast path: a valid token outside its last minute is handed out again
	// without a write.
	window := int64(ExtendWindow / time.Second)
	if v, ok := s.issued.Load(k.ID); ok {
		if r := v.(TokenResult); r.ExpiredAt-now > window {
			r.Now = now
			return r, nil
		}
	}
	t, seq, err := s.st.Read().ValidToken(ctx, k.ID, now)
	if err == nil && t.ExpiresAt-now > window {
		r := TokenResult{AccessToken: deriveToken(tk, k.ID, seq), Now: now, ExpiredAt: t.ExpiresAt}
		s.issued.Store(k.ID, r)
		return r, nil
	}
	if err != nil && !store.IsNotFound(err) {
		return TokenResult{}, err
	}
	var res TokenResult
	err = s.st.Write(ctx, func(q store.Q) error {
		newSeq, err := q.LockAPIKey(ctx, k.ID) // serialises getToken for this key across nodes
		if err != nil {
			return err
		}
		t, seq, err := q.ValidToken(ctx, k.ID, now)
		switch {
		case err == nil:
			if t.ExpiresAt-now <= int64(ExtendWindow/time.Second) {
				t.ExpiresAt += int64(ExtendBy / time.Second)
				if err := q.ExtendToken(ctx, t.ID, t.ExpiresAt); err != nil {
					return err
				}
			}
			res = TokenResult{AccessToken: deriveToken(tk, k.ID, seq), Now: now, ExpiredAt: t.ExpiresAt}
			return nil
		case store.IsNotFound(err):
			tok := deriveToken(tk, k.ID, newSeq)
			t, err := q.InsertToken(ctx, store.Token{APIKeyID: k.ID, MerchantID: k.MerchantID, TokenHash: hashToken(tok),
				IssuedAt: now, ExpiresAt: now + int64(TokenTTL/time.Second)}, newSeq)
			if err != nil {
				return err
			}
			res = TokenResult{AccessToken: tok, Now: now, ExpiredAt: t.ExpiresAt}
			s.issued.Store(k.ID, res)
			return nil
		default:
			return err
		}
	})
	return res, err
}

// Authenticate returns the merchant id a token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (int64, error) {
	if token == "" || len(token) > 200 {
		return 0, ErrBadToken
	}
	h := hashToken(token)
	now := s.clock.Now()
	if v, ok := s.cache.Load(h); ok {
		c := v.(cachedToken)
		if now.Before(c.until) && c.expiresAt > now.Unix() {
			return c.merchantID, nil
		}
	}
	t, err := s.st.Read().TokenByHash(ctx, h)
	if store.IsNotFound(err) {
		return 0, ErrBadToken
	}
	if err != nil {
		return 0, err
	}
	if t.ExpiresAt <= now.Unix() {
		s.cache.Delete(h)
		return 0, ErrBadToken
	}
	s.cache.Store(h, cachedToken{merchantID: t.MerchantID, expiresAt: t.ExpiresAt, until: now.Add(tokenCacheTime)})
	return t.MerchantID, nil
}
