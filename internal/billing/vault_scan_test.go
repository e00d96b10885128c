package billing_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"billkey/internal/testutil/apptest"
)

// TestBillingKeyNeverStoredOrLoggedInPlaintext writes a key through the API,
// learns its plaintext through the vault, and then looks for it in every
// table row (as text), in the SQLite files, and in the captured logs.
func TestBillingKeyNeverStoredOrLoggedInPlaintext(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			s := apptest.Start(t, apptest.Options{Engine: engine, DataDir: dir})
			m := s.NewMerchant(t)
			issueTestKey(t, m, "secret_holder", "4242-4242-4242-4242")
			again(t, m, map[string]any{"customer_uid": "secret_holder", "merchant_uid": "scan-1", "amount": 1234})
			ctx := context.Background()
			c, err := s.App.Store.Read().Customer(ctx, m.ID, "secret_holder")
			if err != nil {
				t.Fatal(err)
			}
			key, err := s.App.Vault.Open(ctx, m.ID, "billing-key", c.BillingKeyEnc)
			if err != nil || len(key) < 8 {
				t.Fatalf("vault open: %v %q", err, key)
			}
			// The ciphertext only opens for its merchant.
			if _, err := s.App.Vault.Open(ctx, m.ID+1, "billing-key", c.BillingKeyEnc); err == nil {
				t.Fatal("ciphertext opened for another merchant")
			}
			needles := [][]byte{key, []byte(m.Cred.ImpSecret), []byte(m.Token)}

			// Every row of every table, as text, through the store's own reader.
			var dump strings.Builder
			tables := []string{"merchants", "api_keys", "access_tokens", "data_keys", "channels", "customers", "payments", "payment_cancels", "prepares", "meta"}
			for _, tb := range tables {
				rows, err := s.App.Store.Read().Query(ctx, "SELECT * FROM "+tb)
				if err != nil {
					t.Fatalf("%s: %v", tb, err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					for _, v := range vals {
						switch x := v.(type) {
						case []byte:
							dump.Write(x)
						case string:
							dump.WriteString(x)
						case sql.NullString:
							dump.WriteString(x.String)
						}
						dump.WriteByte('|')
					}
				}
				rows.Close()
			}
			if dump.Len() < 100 {
				t.Fatalf("dump too small to mean anything: %d bytes", dump.Len())
			}
			for _, n := range needles {
				if bytes.Contains([]byte(dump.String()), n) {
					t.Fatalf("a secret (%d bytes) is stored in plaintext in the database", len(n))
				}
			}
			// The SQLite files themselves (billkey's database, not the emulators').
			if engine == "sqlite" {
				files, _ := filepath.Glob(filepath.Join(dir, "billkey.db*"))
				if len(files) == 0 {
					t.Fatal("no database files found to scan")
				}
				for _, f := range files {
					b, _ := os.ReadFile(f)
					for _, n := range needles[:2] {
						if bytes.Contains(b, n) {
							t.Fatalf("a secret is in plaintext in %s", f)
						}
					}
				}
			}
			logs := s.Logs.String()
			if len(logs) == 0 {
				t.Fatal("no logs captured")
			}
			for _, n := range needles {
				if strings.Contains(logs, string(n)) {
					t.Fatal("a secret appears in the logs")
				}
			}
		})
	}
}
