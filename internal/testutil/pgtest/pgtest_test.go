package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := DSN(t), DSN(t)
	if dsnA == dsnB {
		t.Fatalf("same DSN twice: %s", dsnA)
	}
	if !strings.Contains(dsnA, "127.0.0.1") && os.Getenv(EnvDatabaseURL) == "" {
		t.Errorf("DSN %s is not on loopback", dsnA)
	}
	a, err := sql.Open(DriverName, dsnA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := Open(t)

	if _, err := a.ExecContext(ctx, `CREATE TABLE payments (imp_uid text PRIMARY KEY, amount bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `INSERT INTO payments VALUES ($1, $2)`, "imp_123412341234", 3000); err != nil {
		t.Fatal(err)
	}
	var amount int64
	if err := a.QueryRowContext(ctx, `SELECT amount FROM payments WHERE imp_uid = $1`, "imp_123412341234").Scan(&amount); err != nil || amount != 3000 {
		t.Fatalf("read back: %d %v", amount, err)
	}
	var n int
	if err := b.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'payments'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("table created in database A is visible in database B")
	}
	if _, err := b.ExecContext(ctx, `SELECT 1 FROM payments`); err == nil {
		t.Fatal("database B can query A's table")
	}

	var enc, dbA, dbB string
	if err := a.QueryRowContext(ctx, `SELECT pg_encoding_to_char(encoding), current_database() FROM pg_database WHERE datname = current_database()`).Scan(&enc, &dbA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbB); err != nil {
		t.Fatal(err)
	}
	if enc != "UTF8" || !strings.HasPrefix(dbA, "t_") || dbA == dbB {
		t.Fatalf("encoding %s, databases %s / %s", enc, dbA, dbB)
	}
}

func TestParallelDatabases(t *testing.T) {
	for i := 0; i < 8; i++ {
		t.Run("p", func(t *testing.T) {
			t.Parallel()
			db := Open(t)
			if _, err := db.Exec(`CREATE TABLE x (id int)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestServerSettings(t *testing.T) {
	if os.Getenv(EnvDatabaseURL) != "" {
		t.Skip("external server")
	}
	db := Open(t)
	for name, want := range map[string]string{"max_connections": "300", "fsync": "off", "listen_addresses": "127.0.0.1"} {
		var got string
		if err := db.QueryRow(`SELECT current_setting($1)`, name).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
}

func TestRequired(t *testing.T) {
	t.Setenv(EnvRequire, " postgres , Browser")
	if !Required("postgres") || !Required("browser") || Required("redis") {
		t.Fatal("Required misreads the list")
	}
	t.Setenv(EnvRequire, "all")
	if !Required("anything") {
		t.Fatal("all should name everything")
	}
	t.Setenv(EnvRequire, "")
	if Required("postgres") {
		t.Fatal("empty list names nothing")
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@h:5432/postgres?sslmode=disable", "postgres://u:p@h:5432/t_x?sslmode=disable"},
		{"postgresql://h", "postgresql://h/t_x"},
		{"host=h user=u dbname=postgres sslmode=disable", "host=h user=u dbname=t_x sslmode=disable"},
		{"host=h dbname='my db' user=u", "host=h dbname=t_x user=u"},
		{"host=h user=u", "host=h user=u dbname=t_x"},
	}
	for _, tc := range tests {
		got, err := withDatabase(tc.in, "t_x")
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q %v want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestFindBinaries(t *testing.T) {
	dir, err := findBinaries()
	if err != nil {
		t.Skip(err)
	}
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(dir + "/" + b); err != nil {
			t.Error(err)
		}
	}
}

// TestServerFilesHoldWhatWasWritten: after CHECKPOINT a row written through
// a DSN is in the data directory ServerFiles names: in the table's own file
// (pg_relation_filepath) and in the WAL.
func TestServerFilesHoldWhatWasWritten(t *testing.T) {
	ctx := context.Background()
	db := Open(t)
	f, ok := ServerFiles(t)
	if !ok {
		t.Skipf("%s names an external server: its files are not ours to read", EnvDatabaseURL)
	}
	if _, err := os.Stat(filepath.Join(f.DataDir, "PG_VERSION")); err != nil {
		t.Fatalf("%s is not a data directory: %v", f.DataDir, err)
	}
	if fi, err := os.Stat(f.LogFile); err != nil || fi.IsDir() {
		t.Fatalf("server log %s: %v", f.LogFile, err)
	}
	marker := "pgtest-marker-" + randomHex(12)
	if _, err := db.ExecContext(ctx, `CREATE TABLE notes (body text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO notes VALUES ($1)`, marker); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	var rel string
	if err := db.QueryRowContext(ctx, `SELECT pg_relation_filepath('notes')`).Scan(&rel); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(f.DataDir, rel))
	if err != nil {
		t.Fatalf("the table's file: %v", err)
	}
	if !bytes.Contains(b, []byte(marker)) {
		t.Fatalf("after CHECKPOINT the row is not in %s (%d bytes)", rel, len(b))
	}
	wal, _ := filepath.Glob(filepath.Join(f.DataDir, "pg_wal", "0*"))
	inWAL := false
	for _, w := range wal {
		if b, err := os.ReadFile(w); err == nil && bytes.Contains(b, []byte(marker)) {
			inWAL = true
			break
		}
	}
	if !inWAL {
		t.Fatalf("the row is in none of the %d WAL segments", len(wal))
	}
}
