package vault_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"billkey/internal/store"
	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/pgtest"
	"billkey/internal/vault"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestKeyring(t *testing.T) {
	ring := vault.Keyring{1: vault.NewKey(), 3: vault.NewKey()}
	back, err := vault.ParseKeyring(ring.Format())
	if err != nil || back.Current() != 3 || string(back[1]) != string(ring[1]) {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "x:abc", "1:notbase64!", "1:c2hvcnQ="} {
		if _, err := vault.ParseKeyring(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "master.key")
	r1, created, err := vault.LoadOrCreateKeyFile(path)
	if err != nil || !created || r1.Current() != 1 {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	r2, created, _ := vault.LoadOrCreateKeyFile(path)
	if created || string(r2[1]) != string(r1[1]) {
		t.Fatal("key file not reused")
	}
}

func TestSealBindsMerchantAndPurpose(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "b.db")
			if engine == "postgres" {
				target = pgtest.DSN(t)
			}
			st, err := store.Open(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			v := vault.New(st, vault.Keyring{1: vault.NewKey()}, nil)
			ctx := context.Background()
			ct, err := v.Seal(ctx, 7, "billing-key", []byte("sid-123"))
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := v.Open(ctx, 7, "billing-key", ct); err != nil || string(pt) != "sid-123" {
				t.Fatalf("open: %q %v", pt, err)
			}
			for name, try := range map[string]func() error{
				"other merchant": func() error { _, err := v.Open(ctx, 8, "billing-key", ct); return err },
				"other purpose":  func() error { _, err := v.Open(ctx, 7, "channel-credentials", ct); return err },
				"tampered": func() error {
					bad := append([]byte{}, ct...)
					bad[len(bad)-1] ^= 1
					_, err := v.Open(ctx, 7, "billing-key", bad)
					return err
				},
				"truncated": func() error { _, err := v.Open(ctx, 7, "billing-key", ct[:6]); return err },
			} {
				if err := try(); !errors.Is(err, vault.ErrDecrypt) {
					t.Errorf("%s: %v, want ErrDecrypt", name, err)
				}
			}
			// Another vault with the wrong master key cannot open the data key.
			w := vault.New(st, vault.Keyring{1: vault.NewKey()}, nil)
			if _, err := w.Open(ctx, 7, "billing-key", ct); err == nil {
				t.Fatal("opened with the wrong master key")
			}
		})
	}
}

// TestRotateWhileServing rotates the master key the way `billkey vault
// rotate` does while a server keeps charging, then restarts it.
func TestRotateWhileServing(t *testing.T) {
	dir := t.TempDir()
	s := apptest.Start(t, apptest.Options{DataDir: dir})
	m := s.NewMerchant(t)
	if st, env := m.Do(t, "POST", "/subscribe/customers/r", map[string]string{"pg": "testpg", "card_number": "4242-4242-4242-4242", "expiry": "2030-12"}); st != 200 || env.Code != 0 {
		t.Fatalf("issue: %d %s", st, env.Raw)
	}
	keyFile := filepath.Join(dir, "master.key")
	ring, _, err := vault.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ring[ring.Current()+1] = vault.NewKey()
	if err := vault.WriteKeyFile(keyFile, ring); err != nil {
		t.Fatal(err)
	}
	n, err := vault.Rewrap(context.Background(), s.App.Store, ring)
	if err != nil || n < 2 { // the merchant's and billkey's own data keys
		t.Fatalf("rewrap: %d %v", n, err)
	}
	if again, _ := vault.Rewrap(context.Background(), s.App.Store, ring); again != 0 {
		t.Fatalf("rewrap is not idempotent: %d", again)
	}
	charge := func(s *apptest.Server, token, muid string) {
		t.Helper()
		st, env := s.Do(t, "POST", "/subscribe/payments/again", token, map[string]any{"customer_uid": "r", "merchant_uid": muid, "amount": 100})
		if st != 200 || env.Code != 0 {
			t.Fatalf("charge %s: %d %s", muid, st, env.Raw)
		}
	}
	charge(s, m.Token, "during")
	// A merchant created after rotation gets a data key under the new master
	// version, which this running server learns by reloading the key file.
	m2 := s.NewMerchant(t)
	if st, env := m2.Do(t, "POST", "/subscribe/customers/r", map[string]string{"pg": "testpg", "card_number": "4242-4242-4242-4242", "expiry": "2030-12"}); st != 200 || env.Code != 0 {
		t.Fatalf("issue after rotation: %d %s", st, env.Raw)
	}
	keys, _ := s.App.Store.Read().AllDataKeys(context.Background())
	for _, k := range keys {
		if k.MasterVersion != ring.Current() {
			t.Fatalf("data key %d/%d still under master v%d", k.MerchantID, k.Version, k.MasterVersion)
		}
	}
	s.Stop()
	s2 := apptest.Start(t, apptest.Options{DataDir: dir})
	charge(s2, tokenFor(t, s2, m), "after-restart")
}

func tokenFor(t *testing.T, s *apptest.Server, m *apptest.Merchant) string {
	_, env := s.Do(t, "POST", "/users/getToken", "", map[string]string{"imp_key": m.Cred.ImpKey, "imp_secret": m.Cred.ImpSecret})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.Into(t, &tok)
	return tok.AccessToken
}
