package store

import (
	"context"
	"database/sql"
	"errors"
)

const merchantCols = `id, code, name, webhook_url, webhook_content_type, created_at`

func scanMerchant(row interface{ Scan(...any) error }) (Merchant, error) {
	var m Merchant
	err := row.Scan(&m.ID, &m.Code, &m.Name, &m.WebhookURL, &m.WebhookContentType, &m.CreatedAt)
	return m, mapErr(err)
}

// InsertMerchant creates a merchant; a taken code is ErrConflict.
func (q Q) InsertMerchant(ctx context.Context, m Merchant) (Merchant, error) {
	row := q.QueryRow(ctx, `INSERT INTO merchants (code, name, webhook_url, webhook_content_type, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+merchantCols, m.Code, m.Name, m.WebhookURL, m.WebhookContentType, m.CreatedAt)
	return scanMerchant(row)
}

func (q Q) MerchantByCode(ctx context.Context, code string) (Merchant, error) {
	return scanMerchant(q.QueryRow(ctx, `SELECT `+merchantCols+` FROM merchants WHERE code = $1`, code))
}

func (q Q) MerchantByID(ctx context.Context, id int64) (Merchant, error) {
	return scanMerchant(q.QueryRow(ctx, `SELECT `+merchantCols+` FROM merchants WHERE id = $1`, id))
}

func (q Q) ListMerchants(ctx context.Context) ([]Merchant, error) {
	rows, err := q.Query(ctx, `SELECT `+merchantCols+` FROM merchants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMerchantWebhook sets the merchant's webhook URL and content type.
func (q Q) SetMerchantWebhook(ctx context.Context, merchantID int64, url, contentType string) error {
	_, err := q.Exec(ctx, `UPDATE merchants SET webhook_url = $1, webhook_content_type = $2 WHERE id = $3`, url, contentType, merchantID)
	return err
}

const apiKeyCols = `id, merchant_id, imp_key, secret_hash, created_at, expires_at, token_seq`

func scanAPIKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.MerchantID, &k.ImpKey, &k.SecretHash, &k.CreatedAt, &k.ExpiresAt, &k.TokenSeq)
	return k, mapErr(err)
}

func (q Q) InsertAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	return scanAPIKey(q.QueryRow(ctx, `INSERT INTO api_keys (merchant_id, imp_key, secret_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+apiKeyCols, k.MerchantID, k.ImpKey, k.SecretHash, k.CreatedAt, k.ExpiresAt))
}

func (q Q) APIKeyByImpKey(ctx context.Context, impKey string) (APIKey, error) {
	return scanAPIKey(q.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE imp_key = $1`, impKey))
}

func (q Q) APIKeysOf(ctx context.Context, merchantID int64) ([]APIKey, error) {
	rows, err := q.Query(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE merchant_id = $1 ORDER BY id`, merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ExpireAPIKeys sets an expiry on every key of the merchant that has none,
// except keepID (secret rotation: the old keys keep working until then).
func (q Q) ExpireAPIKeys(ctx context.Context, merchantID, keepID, at int64) error {
	_, err := q.Exec(ctx, `UPDATE api_keys SET expires_at = $1 WHERE merchant_id = $2 AND id <> $3 AND (expires_at = 0 OR expires_at > $1)`, at, merchantID, keepID)
	return err
}

const channelCols = `id, merchant_id, provider, mid, live, is_default, base_url, credentials_enc, created_at`

func scanChannel(row interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	err := row.Scan(&c.ID, &c.MerchantID, &c.Provider, &c.MID, boolInt{&c.Live}, boolInt{&c.IsDefault}, &c.BaseURL, &c.CredentialsEnc, &c.CreatedAt)
	return c, mapErr(err)
}

// InsertChannel adds a channel; IsDefault clears the flag on the merchant's others.
func (q Q) InsertChannel(ctx context.Context, c Channel) (Channel, error) {
	if c.IsDefault {
		if _, err := q.Exec(ctx, `UPDATE channels SET is_default = 0 WHERE merchant_id = $1`, c.MerchantID); err != nil {
			return Channel{}, err
		}
	}
	return scanChannel(q.QueryRow(ctx, `INSERT INTO channels (merchant_id, provider, mid, live, is_default, base_url, credentials_enc, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+channelCols,
		c.MerchantID, c.Provider, c.MID, b2i(c.Live), b2i(c.IsDefault), c.BaseURL, c.CredentialsEnc, c.CreatedAt))
}

func (q Q) ChannelsOf(ctx context.Context, merchantID int64) ([]Channel, error) {
	rows, err := q.Query(ctx, `SELECT `+channelCols+` FROM channels WHERE merchant_id = $1 ORDER BY id`, merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q Q) ChannelByID(ctx context.Context, merchantID, id int64) (Channel, error) {
	return scanChannel(q.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE merchant_id = $1 AND id = $2`, merchantID, id))
}

// Meta reads a key of the meta table; ErrNotFound when absent.
func (q Q) Meta(ctx context.Context, k string) (string, error) {
	var v string
	err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = $1`, k).Scan(&v)
	return v, mapErr(err)
}

// InsertMetaIfAbsent stores v under k unless k exists; it returns the value stored.
func (q Q) InsertMetaIfAbsent(ctx context.Context, k, v string) (string, error) {
	if _, err := q.Exec(ctx, `INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, k, v); err != nil {
		return "", err
	}
	return q.Meta(ctx, k)
}

// SetMeta upserts k.
func (q Q) SetMeta(ctx context.Context, k, v string) error {
	_, err := q.Exec(ctx, `INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v)
	return err
}

// DataKey is a merchant's data-encryption key, wrapped by a master key version.
type DataKey struct {
	MerchantID    int64
	Version       int
	MasterVersion int
	Wrapped       []byte
	CreatedAt     int64
}

func (q Q) DataKeys(ctx context.Context, merchantID int64) ([]DataKey, error) {
	return q.dataKeys(ctx, `SELECT merchant_id, version, master_version, wrapped, created_at FROM data_keys WHERE merchant_id = $1 ORDER BY version`, merchantID)
}

func (q Q) AllDataKeys(ctx context.Context) ([]DataKey, error) {
	return q.dataKeys(ctx, `SELECT merchant_id, version, master_version, wrapped, created_at FROM data_keys ORDER BY merchant_id, version`)
}

func (q Q) dataKeys(ctx context.Context, query string, args ...any) ([]DataKey, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DataKey
	for rows.Next() {
		var k DataKey
		if err := rows.Scan(&k.MerchantID, &k.Version, &k.MasterVersion, &k.Wrapped, &k.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// InsertDataKey stores a new data key; ErrConflict if that version exists.
func (q Q) InsertDataKey(ctx context.Context, k DataKey) error {
	_, err := q.Exec(ctx, `INSERT INTO data_keys (merchant_id, version, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.MerchantID, k.Version, k.MasterVersion, k.Wrapped, k.CreatedAt)
	return mapErr(err)
}

// RewrapDataKey replaces a data key's wrapping (master key rotation).
func (q Q) RewrapDataKey(ctx context.Context, k DataKey) error {
	_, err := q.Exec(ctx, `UPDATE data_keys SET master_version = $1, wrapped = $2 WHERE merchant_id = $3 AND version = $4`,
		k.MasterVersion, k.Wrapped, k.MerchantID, k.Version)
	return err
}

// IsNotFound reports ErrNotFound (or sql.ErrNoRows).
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, sql.ErrNoRows)
}
