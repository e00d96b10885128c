package store

import "context"

const tokenCols = `id, api_key_id, merchant_id, token_hash, issued_at, expires_at`

func scanToken(row interface{ Scan(...any) error }) (Token, int64, error) {
	var t Token
	var seq int64
	err := row.Scan(&t.ID, &t.APIKeyID, &t.MerchantID, &t.TokenHash, &t.IssuedAt, &t.ExpiresAt, &seq)
	return t, seq, mapErr(err)
}

// ValidToken returns the api key's newest token that is still valid at now,
// with the sequence number it was derived from.
func (q Q) ValidToken(ctx context.Context, apiKeyID, now int64) (Token, int64, error) {
	return scanToken(q.QueryRow(ctx, `SELECT `+tokenCols+`, seq FROM access_tokens
		WHERE api_key_id = $1 AND expires_at > $2 ORDER BY expires_at DESC LIMIT 1`, apiKeyID, now))
}

// TokenByHash finds a token by the hash of its value.
func (q Q) TokenByHash(ctx context.Context, hash string) (Token, error) {
	t, _, err := scanToken(q.QueryRow(ctx, `SELECT `+tokenCols+`, seq FROM access_tokens WHERE token_hash = $1`, hash))
	return t, err
}

// LockAPIKey takes the api key's row lock (PostgreSQL) and returns a fresh
// sequence number, serialising token issuance for one key across nodes.
func (q Q) LockAPIKey(ctx context.Context, apiKeyID int64) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `UPDATE api_keys SET token_seq = token_seq + 1 WHERE id = $1 RETURNING token_seq`, apiKeyID).Scan(&seq)
	return seq, mapErr(err)
}

func (q Q) InsertToken(ctx context.Context, t Token, seq int64) (Token, error) {
	row := q.QueryRow(ctx, `INSERT INTO access_tokens (api_key_id, merchant_id, seq, token_hash, issued_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+tokenCols+`, seq`, t.APIKeyID, t.MerchantID, seq, t.TokenHash, t.IssuedAt, t.ExpiresAt)
	t, _, err := scanToken(row)
	return t, err
}

func (q Q) ExtendToken(ctx context.Context, id, expiresAt int64) error {
	_, err := q.Exec(ctx, `UPDATE access_tokens SET expires_at = $1 WHERE id = $2`, expiresAt, id)
	return err
}

// DeleteExpiredTokens removes tokens that expired before 'before'.
func (q Q) DeleteExpiredTokens(ctx context.Context, before int64) (int64, error) {
	res, err := q.Exec(ctx, `DELETE FROM access_tokens WHERE expires_at < $1`, before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
