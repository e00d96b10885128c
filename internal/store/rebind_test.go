package store

import "testing"

func TestRebindSQLite(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"INSERT INTO t (a, b, c) VALUES ($1, $2, $3)", "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"},
		// Out of order, reused or with gaps: keep the numbers.
		{"UPDATE t SET a = $2 WHERE id = $1", "UPDATE t SET a = ?2 WHERE id = ?1"},
		{"SELECT * FROM t WHERE a = $1 OR b = $1", "SELECT * FROM t WHERE a = ?1 OR b = ?1"},
		{"SELECT * FROM t WHERE a = $1 AND b = $3", "SELECT * FROM t WHERE a = ?1 AND b = ?3"},
		{"SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $10", "SELECT * FROM t WHERE a = ?1 AND b = ?2 AND c = ?10"},
	} {
		if got := rebindSQLite(c.in); got != c.want {
			t.Errorf("rebindSQLite(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
