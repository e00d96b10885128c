package iamport_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"billkey/internal/clock"
	"billkey/internal/testutil/apptest"
)

type tokenResp struct {
	AccessToken string `json:"access_token"`
	Now         int64  `json:"now"`
	ExpiredAt   int64  `json:"expired_at"`
}

func getToken(t *testing.T, s *apptest.Server, body any) (int, apptest.Envelope, tokenResp) {
	t.Helper()
	st, env := s.Do(t, "POST", "/users/getToken", "", body)
	var tr tokenResp
	if env.Code == 0 && st == 200 {
		env.Into(t, &tr)
	}
	return st, env, tr
}

func TestGetTokenAndAuthHeaders(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			tc := s.App.Clock.(*clock.Test)

			// JSON and form bodies give the same token while it is valid.
			st, env, tj := getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
			if st != 200 || env.Code != 0 || env.Message != nil {
				t.Fatalf("json getToken: %d %s", st, env.Raw)
			}
			if len(tj.AccessToken) != 40 || strings.Trim(tj.AccessToken, "0123456789abcdef") != "" {
				t.Fatalf("token should be 40 lowercase hex: %q", tj.AccessToken)
			}
			// NewMerchant already got this token: it is handed out again, so up
			// to a few seconds of its 30 minutes may have passed.
			if left := tj.ExpiredAt - tj.Now; left > 30*60 || left < 30*60-10 {
				t.Fatalf("remaining lifetime = %d s, want about 1800", left)
			}
			if !strings.Contains(string(env.Raw), `"now":`+itoa(tj.Now)) {
				t.Fatalf("now must be an integer: %s", env.Raw)
			}
			st, _, tf := getToken(t, s, url.Values{"imp_key": {m.Cred.ImpKey}, "imp_secret": {m.Cred.ImpSecret}})
			if st != 200 || tf.AccessToken != tj.AccessToken || tf.ExpiredAt != tj.ExpiredAt {
				t.Fatalf("form getToken gave %+v, want the same token as %+v", tf, tj)
			}

			// Within its last minute the token is extended by 5 minutes, once per call in that window.
			tc.Advance(29*time.Minute + 10*time.Second)
			_, _, te := getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
			if te.AccessToken != tj.AccessToken || te.ExpiredAt != tj.ExpiredAt+300 {
				t.Fatalf("extension: got %+v, want same token expiring at %d", te, tj.ExpiredAt+300)
			}
			// Not in its last minute any more: no further extension.
			_, _, te2 := getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
			if te2.ExpiredAt != te.ExpiredAt {
				t.Fatalf("second call extended again: %d vs %d", te2.ExpiredAt, te.ExpiredAt)
			}

			// All four ways of sending the token work.
			tok := tj.AccessToken
			for name, h := range map[string]map[string]string{
				"bearer":         {"Authorization": "Bearer " + tok},
				"raw":            {"Authorization": tok},
				"x-imp":          {"X-ImpTokenHeader": tok},
				"bearer-lower":   {"Authorization": "bearer " + tok},
				"auth-wins":      {"Authorization": tok, "X-ImpTokenHeader": "garbage"},
				"basic-is-strip": {"Authorization": "Basic " + tok},
			} {
				st, env := s.DoHeaders(t, "GET", "/payments/status/all", nil, h)
				if st != 200 || env.Code != 0 {
					t.Errorf("%s: %d %s", name, st, env.Raw)
				}
			}
			st, env = s.DoHeaders(t, "GET", "/payments/status/all?_token="+tok, nil, nil)
			if st != 200 || env.Code != 0 {
				t.Errorf("_token query: %d %s", st, env.Raw)
			}

			// After expiry: 401, and getToken issues a new token.
			tc.Advance(7 * time.Minute)
			st, env = s.DoHeaders(t, "GET", "/payments/status/all", nil, map[string]string{"Authorization": tok})
			expect401(t, "expired token", st, env)
			_, _, tn := getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
			if tn.AccessToken == tok || tn.ExpiredAt-tn.Now != 1800 {
				t.Fatalf("after expiry want a new 30-minute token, got %+v", tn)
			}
		})
	}
}

func expect401(t *testing.T, what string, st int, env apptest.Envelope) {
	t.Helper()
	if st != 401 || env.Code == 0 || env.Message == nil || *env.Message == "" || string(env.Response) != "null" {
		t.Errorf("%s: want 401 with a non-null string message and response null, got %d %s", what, st, env.Raw)
	}
}

func TestUnauthorizedPaths(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	for name, h := range map[string]map[string]string{
		"missing":      nil,
		"unknown":      {"Authorization": "Bearer 0123456789abcdef0123456789abcdef01234567"},
		"empty bearer": {"Authorization": "Bearer "},
		"x-unknown":    {"X-ImpTokenHeader": "nope"},
	} {
		st, env := s.DoHeaders(t, "POST", "/subscribe/payments/again", map[string]any{"customer_uid": "c", "merchant_uid": "m", "amount": 100}, h)
		expect401(t, name, st, env)
	}
	st, env := s.DoHeaders(t, "GET", "/payments/imp_000000000000?_token=zzz", nil, nil)
	expect401(t, "bad _token", st, env)

	// Wrong key or secret: 401. Missing parameters: 400.
	st, env, _ = getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": "wrong"})
	expect401(t, "wrong secret", st, env)
	st, env, _ = getToken(t, s, map[string]string{"imp_key": "0000", "imp_secret": m.Cred.ImpSecret})
	expect401(t, "wrong key", st, env)
	st, env, _ = getToken(t, s, url.Values{"imp_key": {m.Cred.ImpKey}})
	if st != 400 || env.Msg() == "" {
		t.Errorf("missing secret: %d %s", st, env.Raw)
	}
	st, env, _ = getToken(t, s, `{"imp_key": 12`)
	if st != 400 || env.Code == 0 || env.Msg() == "" {
		t.Errorf("malformed JSON: %d %s", st, env.Raw)
	}
}

// TestExpiredAndUnknownTokenEveryForm: once the clock passes expired_at, the
// token is refused with 401 in each way of sending it; an unknown token is
// refused in the raw Authorization and X-ImpTokenHeader forms too.
func TestExpiredAndUnknownTokenEveryForm(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{Engine: engine})
			m := s.NewMerchant(t)
			tc := s.App.Clock.(*clock.Test)
			_, _, tr := getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
			tok := tr.AccessToken
			send := func(form, tok string) (int, apptest.Envelope) {
				path, h := "/payments/status/all", map[string]string{}
				switch form {
				case "bearer":
					h["Authorization"] = "Bearer " + tok
				case "raw":
					h["Authorization"] = tok
				case "x-imp":
					h["X-ImpTokenHeader"] = tok
				case "_token":
					path += "?_token=" + url.QueryEscape(tok)
				}
				return s.DoHeaders(t, "GET", path, nil, h)
			}
			all := []string{"bearer", "raw", "x-imp", "_token"}
			for _, form := range all {
				if st, env := send(form, tok); st != 200 || env.Code != 0 {
					t.Fatalf("%s before expiry: %d %s", form, st, env.Raw)
				}
			}
			tc.Advance(time.Duration(tr.ExpiredAt-tr.Now+1) * time.Second)
			for _, form := range all {
				st, env := send(form, tok)
				expect401(t, "expired token, "+form, st, env)
			}
			for _, form := range []string{"raw", "x-imp"} {
				for _, unknown := range []string{"x", "0123456789abcdef0123456789abcdef01234567"} {
					st, env := send(form, unknown)
					expect401(t, "unknown token "+unknown+", "+form, st, env)
				}
			}
		})
	}
}

func TestSecretRotationKeepsOldPairDuringGrace(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	m := s.NewMerchant(t)
	tc := s.App.Clock.(*clock.Test)
	cred, err := s.App.Accounts.RotateSecret(t.Context(), m.Code, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{m.Cred.ImpKey, m.Cred.ImpSecret}, {cred.ImpKey, cred.ImpSecret}} {
		if st, env, _ := getToken(t, s, map[string]string{"imp_key": c[0], "imp_secret": c[1]}); st != 200 {
			t.Fatalf("during grace both pairs work: %d %s", st, env.Raw)
		}
	}
	tc.Advance(61 * time.Minute)
	if st, env, _ := getToken(t, s, map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret}); st != 401 {
		t.Fatalf("old pair after grace: %d %s", st, env.Raw)
	}
	if st, env, _ := getToken(t, s, map[string]string{"imp_key": cred.ImpKey, "imp_secret": cred.ImpSecret}); st != 200 {
		t.Fatalf("new pair: %d %s", st, env.Raw)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTokensAcrossNodes: two billkey nodes share one PostgreSQL (and the
// master key): a token from one works on the other, and getToken on either
// hands out the same token.
func TestTokensAcrossNodes(t *testing.T) {
	dir := t.TempDir()
	dsn := apptest.DatabaseURL(t, "postgres", dir)
	a := apptest.Start(t, apptest.Options{Engine: "postgres", DatabaseURL: dsn, DataDir: dir})
	b := apptest.Start(t, apptest.Options{Engine: "postgres", DatabaseURL: dsn, DataDir: dir})
	m := a.NewMerchant(t)
	body := map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret}
	_, _, ta := getToken(t, a, body)
	_, _, tb := getToken(t, b, body)
	if ta.AccessToken == "" || ta.AccessToken != tb.AccessToken || ta.ExpiredAt != tb.ExpiredAt {
		t.Fatalf("nodes disagree: %+v vs %+v", ta, tb)
	}
	if st, env := b.DoHeaders(t, "GET", "/payments/status/all", nil, map[string]string{"Authorization": "Bearer " + ta.AccessToken}); st != 200 || env.Code != 0 {
		t.Fatalf("node B refused node A's token: %d %s", st, env.Raw)
	}
}
