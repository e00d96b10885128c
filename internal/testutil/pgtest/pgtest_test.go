package pgtest

import (
	"context"
	"database/sql"
	"os"
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
