package billing_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"billkey/internal/billing"
	"billkey/internal/testutil/apptest"
	"billkey/internal/testutil/pgtest"
)

// A secret scan looks for a value in raw bytes: as itself, in hex (lower and
// upper case) and in base64 (standard and URL alphabets, padded or not, at
// each of the three byte alignments the value can have inside a longer
// encoded string).

type secretForm struct {
	secret string // what the secret is, for the failure message
	form   string // "plaintext", "hex", "base64+1", …
	b      []byte
}

// secretForms lists the forms of value v.
func secretForms(name string, v []byte) []secretForm {
	out := []secretForm{
		{name, "plaintext", v},
		{name, "hex", []byte(hex.EncodeToString(v))},
		{name, "HEX", []byte(strings.ToUpper(hex.EncodeToString(v)))},
	}
	for k := 0; k < 3; k++ {
		// Encode v behind k other bytes; keep the characters that depend
		// only on v's bytes: whole 3-byte groups, after the first group when
		// that one mixes in the k bytes.
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), v...))
		start, end := 0, (k+len(v))/3*4
		if k > 0 {
			start = 4
		}
		if end-start < 8 {
			continue
		}
		core := enc[start:end]
		out = append(out, secretForm{name, fmt.Sprintf("base64+%d", k), []byte(core)})
		if u := strings.NewReplacer("+", "-", "/", "_").Replace(core); u != core {
			out = append(out, secretForm{name, fmt.Sprintf("base64url+%d", k), []byte(u)})
		}
	}
	return out
}

// secretScanner finds any of many forms in a byte slice in one pass.
type secretScanner struct {
	forms  map[uint32][]secretForm // by their first four bytes
	first2 [1 << 16]bool
}

func newSecretScanner(t *testing.T, secrets map[string][]byte) *secretScanner {
	t.Helper()
	s := &secretScanner{forms: map[uint32][]secretForm{}}
	for name, v := range secrets {
		if len(v) < 8 {
			t.Fatalf("secret %s is too short (%d bytes) to search for without false alarms", name, len(v))
		}
		for _, f := range secretForms(name, v) {
			s.forms[binary.LittleEndian.Uint32(f.b)] = append(s.forms[binary.LittleEndian.Uint32(f.b)], f)
			s.first2[binary.LittleEndian.Uint16(f.b)] = true
		}
	}
	return s
}

// find returns the first form in b and its offset.
func (s *secretScanner) find(b []byte) (secretForm, int, bool) {
	for i := 0; i+4 <= len(b); i++ {
		if !s.first2[binary.LittleEndian.Uint16(b[i:])] {
			continue
		}
		for _, f := range s.forms[binary.LittleEndian.Uint32(b[i:])] {
			if bytes.HasPrefix(b[i:], f.b) {
				return f, i, true
			}
		}
	}
	return secretForm{}, 0, false
}

// scanFiles reads every regular file under each root (a file or a directory)
// and fails t on the first form found. Files that vanish while it walks
// (PostgreSQL recycles WAL, other tests drop their databases) are skipped.
// It returns how many bytes it read and the files that contain want, a
// planted plaintext value the caller expects to be found.
func scanFiles(t *testing.T, s *secretScanner, want []byte, roots ...string) (int64, []string) {
	t.Helper()
	var total int64
	var wantIn []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			total += int64(len(b))
			if f, off, ok := s.find(b); ok {
				t.Errorf("secret %s is in %s as %s (offset %d)", f.secret, path, f.form, off)
			}
			if want != nil && bytes.Contains(b, want) {
				wantIn = append(wantIn, path)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("scan %s: %v", root, err)
		}
	}
	return total, wantIn
}

func randomToken(t *testing.T, prefix string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// TestVaultScanFindsEveryForm: the scanner finds a value embedded in
// other bytes in each form it claims to cover, and nothing in bytes without
// it, so a clean scan below means something.
func TestVaultScanFindsEveryForm(t *testing.T) {
	v := []byte("sid_" + randomToken(t, ""))
	s := newSecretScanner(t, map[string][]byte{"planted": v})
	noise := make([]byte, 1<<16)
	rand.Read(noise)
	if f, _, ok := s.find(noise); ok {
		t.Fatalf("found %s in random bytes", f.form)
	}
	encodings := map[string]func([]byte) string{
		"plaintext": func(b []byte) string { return string(b) },
		"hex":       hex.EncodeToString,
		"HEX":       func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) },
		"std":       base64.StdEncoding.EncodeToString,
		"rawstd":    base64.RawStdEncoding.EncodeToString,
		"url":       base64.URLEncoding.EncodeToString,
		"rawurl":    base64.RawURLEncoding.EncodeToString,
	}
	for name, enc := range encodings {
		for k := 0; k < 3; k++ { // v at each alignment inside a longer encoded value, as in a JSON blob
			inner := append(append([]byte(`{"x":"`[:k]), v...), `","y":1}`...)
			b := append(append(append([]byte{}, noise[:1000]...), enc(inner)...), noise[1000:2000]...)
			if _, _, ok := s.find(b); !ok {
				t.Errorf("%s at alignment %d not found", name, k)
			}
		}
	}
}

// TestVaultScanBillingKeyNeverStoredOrLoggedInPlaintext issues billing keys on the
// test PG (key-in), Kakao Pay and PAYCO (payment windows, the emulators'
// headless buyer step) and charges each, learns each PG's secrets from the
// emulator's own storage and answers (the test PG's key through billkey's
// vault, checked against the PG's hash of it), and then searches the
// database's files and every captured log for them, in plaintext, hex and
// base64: on SQLite billkey.db, -wal and -shm, while running and after the
// shutdown; on PostgreSQL the whole data directory after CHECKPOINT, and the
// server's log. A plaintext value planted with the key (the customer name)
// must be found by the same scan, in the customers table's own file.
func TestVaultScanBillingKeyNeverStoredOrLoggedInPlaintext(t *testing.T) {
	for _, engine := range apptest.Engines {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := apptest.DatabaseURL(t, engine, dir)
			var pgFiles pgtest.Files
			if engine == "postgres" {
				f, ok := pgtest.ServerFiles(t)
				if !ok {
					t.Skipf("%s names an external PostgreSQL: its files cannot be scanned", pgtest.EnvDatabaseURL)
				}
				pgFiles = f
			}
			s := apptest.Start(t, apptest.Options{Engine: engine, DataDir: dir, DatabaseURL: dbURL})
			m := s.NewMerchant(t)
			ctx := context.Background()
			canary := randomToken(t, "canary-name-")

			// The test PG: key-in issuance (customer_name is the planted canary), then a charge.
			st, env := m.Do(t, "POST", "/subscribe/customers/tp_holder", url.Values{"pg": {"testpg"}, "card_number": {"4242-4242-4242-4242"},
				"expiry": {"2030-12"}, "birth": {"900101"}, "pwd_2digit": {"00"}, "customer_name": {canary}})
			if st != 200 || env.Code != 0 {
				t.Fatalf("issue testpg key: %d %s", st, env.Raw)
			}
			tpPay := chargeOrFail(t, m, "tp_holder", "scan-tp")
			// Kakao Pay and PAYCO: window issuance with the buyer step, then a charge.
			issueByWindow(t, s, m, billing.WindowInput{PG: "kakaopay", MerchantUID: "scan-k-issue", Name: "정기결제 등록", Amount: 0, CustomerUID: "kp_holder"},
				map[string]string{"action": "approve", "method": "CARD", "card": "normal"})
			kpPay := chargeOrFail(t, m, "kp_holder", "scan-kp")
			issueByWindow(t, s, m, billing.WindowInput{PG: "payco", MerchantUID: "scan-p-issue", Name: "PAYCO 등록", Amount: 0, CustomerUID: "pc_holder"},
				map[string]string{"action": "register", "card": "normal"})
			pcPay := chargeOrFail(t, m, "pc_holder", "scan-pc")

			secrets := map[string][]byte{"REST API secret": []byte(m.Cred.ImpSecret), "access token": []byte(m.Token)}

			// The test PG's key, through billkey's vault; the PG keeps only its
			// SHA-256, which must be the hash on the ledger's charge.
			cust, err := s.App.Store.Read().Customer(ctx, m.ID, "tp_holder")
			if err != nil {
				t.Fatal(err)
			}
			key, err := s.App.Vault.Open(ctx, m.ID, "billing-key", cust.BillingKeyEnc)
			if err != nil || len(key) < 8 {
				t.Fatalf("vault open: %v %q", err, key)
			}
			if _, err := s.App.Vault.Open(ctx, m.ID+1, "billing-key", cust.BillingKeyEnc); err == nil {
				t.Fatal("ciphertext opened for another merchant")
			}
			var tpLedger []struct {
				OrderID string `json:"order_id"`
				KeyHash string `json:"billing_key_hash"`
			}
			getJSON(t, s.URL+"/pgsim/testpg/_sim/ledger?order_id="+url.QueryEscape(tpPay.ImpUID), &tpLedger)
			sum := sha256.Sum256(key)
			if len(tpLedger) != 1 || tpLedger[0].KeyHash != hex.EncodeToString(sum[:]) {
				t.Fatalf("the test PG charged %s with another key than the vault's: %+v", tpPay.ImpUID, tpLedger)
			}
			if n := emulatorCount(t, filepath.Join(dir, "pgsim-testpg.db"), `SELECT count(*) FROM tp_keys WHERE key_hash = ?`, tpLedger[0].KeyHash); n != 1 {
				t.Fatalf("the test PG's key table has %d rows for the key", n)
			}
			secrets["testpg billing key"] = key
			if rest, ok := strings.CutPrefix(string(key), "tpk_"); ok {
				secrets["testpg billing key (random part)"] = []byte(rest)
			}

			// Kakao Pay's sid: the emulator's answer (ledger of billkey's charge) and its storage.
			var kpLedger []struct {
				SID  string `json:"sid"`
				Kind string `json:"kind"`
			}
			getJSON(t, s.URL+"/pgsim/kakaopay/_sim/ledger?partner_order_id="+url.QueryEscape(kpPay.ImpUID), &kpLedger)
			if len(kpLedger) != 1 || kpLedger[0].Kind != "subscription" || kpLedger[0].SID == "" {
				t.Fatalf("Kakao Pay's ledger for %s: %+v", kpPay.ImpUID, kpLedger)
			}
			sid := kpLedger[0].SID
			if n := emulatorCount(t, filepath.Join(dir, "pgsim-kakaopay.db"), `SELECT count(*) FROM kp_sids WHERE sid = ? AND partner_user_id = ?`, sid, "kp_holder"); n != 1 {
				t.Fatalf("Kakao Pay's sid table has %d rows for sid %s", n, sid)
			}
			secrets["Kakao Pay sid"] = []byte(sid)
			// PAYCO's autoPaymentNo (ledger of billkey's charge) and its certify key (storage).
			var pcLedger []struct {
				OrderNo       string `json:"order_no"`
				AutoPaymentNo string `json:"auto_payment_no"`
			}
			getJSON(t, s.URL+"/pgsim/payco/_sim/ledger?order_no="+url.QueryEscape(pcPay.ImpUID), &pcLedger)
			if len(pcLedger) != 1 || pcLedger[0].AutoPaymentNo == "" {
				t.Fatalf("PAYCO's ledger for %s: %+v", pcPay.ImpUID, pcLedger)
			}
			certify := emulatorString(t, filepath.Join(dir, "pgsim-payco.db"), `SELECT certify_key FROM pc_autopay WHERE auto_payment_no = ? AND status = 'active'`, pcLedger[0].AutoPaymentNo)
			secrets["PAYCO autoPaymentNo"] = []byte(pcLedger[0].AutoPaymentNo)
			secrets["PAYCO certify key"] = []byte(certify)
			// And the stored keys as billkey holds them (Kakao and PAYCO pack these values).
			for uid, name := range map[string]string{"kp_holder": "Kakao Pay billing key", "pc_holder": "PAYCO billing key"} {
				c, err := s.App.Store.Read().Customer(ctx, m.ID, uid)
				if err != nil {
					t.Fatal(err)
				}
				k, err := s.App.Vault.Open(ctx, m.ID, "billing-key", c.BillingKeyEnc)
				if err != nil {
					t.Fatalf("vault open %s: %v", uid, err)
				}
				secrets[name] = k
			}
			if !bytes.Contains(secrets["Kakao Pay billing key"], []byte(sid)) {
				t.Fatal("billkey's Kakao Pay key does not hold the emulator's sid: the scan would look for the wrong value")
			}
			scanner := newSecretScanner(t, secrets)

			// The database's files, after the writes.
			switch engine {
			case "sqlite":
				base := filepath.Join(dir, "billkey.db")
				files := []string{base, base + "-wal", base + "-shm"}
				for _, f := range files {
					if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
						t.Fatalf("database file %s: %v (want it present and non-empty while running)", f, err)
					}
				}
				n, where := scanFiles(t, scanner, []byte(canary), files...)
				if len(where) == 0 {
					t.Fatalf("the planted customer name is in none of the database files (%d bytes): the scan sees nothing", n)
				}
				t.Logf("sqlite, running: scanned %d bytes; planted value in %v", n, where)
			case "postgres":
				db, err := sql.Open(pgtest.DriverName, dbURL)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				if _, err := db.ExecContext(cctx, "CHECKPOINT"); err != nil {
					t.Fatalf("CHECKPOINT: %v", err)
				}
				var rel string
				if err := db.QueryRowContext(cctx, `SELECT pg_relation_filepath('customers')`).Scan(&rel); err != nil {
					t.Fatal(err)
				}
				n, where := scanFiles(t, scanner, []byte(canary), pgFiles.DataDir, pgFiles.LogFile)
				inTable := false
				for _, w := range where {
					inTable = inTable || w == filepath.Join(pgFiles.DataDir, rel)
				}
				if !inTable {
					t.Fatalf("after CHECKPOINT the planted customer name is not in the customers table's file %s (found in %v; %d bytes scanned)", rel, where, n)
				}
				t.Logf("postgres: scanned %d bytes under %s and its log; planted value in %v", n, pgFiles.DataDir, where)
			}

			s.Stop() // SQLite checkpoints its WAL into the main file on close
			if engine == "sqlite" {
				files, _ := filepath.Glob(filepath.Join(dir, "billkey.db*"))
				n, where := scanFiles(t, scanner, []byte(canary), files...)
				if len(where) == 0 {
					t.Fatalf("after shutdown the planted customer name is in none of %v", files)
				}
				t.Logf("sqlite, stopped: scanned %d bytes of %v", n, files)
			}
			logs := s.Logs.String()
			if len(logs) < 1000 {
				t.Fatalf("too few logs captured to mean anything (%d bytes)", len(logs))
			}
			if f, off, ok := scanner.find([]byte(logs)); ok {
				t.Errorf("secret %s is in billkey's logs as %s: %q", f.secret, f.form, logs[max(0, off-80):min(len(logs), off+80)])
			}
		})
	}
}

func chargeOrFail(t *testing.T, m *apptest.Merchant, customerUID, merchantUID string) payment {
	t.Helper()
	st, env, p := again(t, m, map[string]any{"customer_uid": customerUID, "merchant_uid": merchantUID, "amount": 1234})
	if st != 200 || env.Code != 0 || p.Status != "paid" {
		t.Fatalf("charge %s: %d %s", customerUID, st, env.Raw)
	}
	return p
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: HTTP %d: %v", u, resp.StatusCode, err)
	}
}

// openEmulatorDB opens an emulator's own SQLite file read-only.
func openEmulatorDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func emulatorString(t *testing.T, path, query string, args ...any) string {
	t.Helper()
	db := openEmulatorDB(t, path)
	defer db.Close()
	var v string
	if err := db.QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %s: %v", filepath.Base(path), query, err)
	}
	return v
}

func emulatorCount(t *testing.T, path, query string, args ...any) int {
	t.Helper()
	db := openEmulatorDB(t, path)
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %s: %v", filepath.Base(path), query, err)
	}
	return n
}
