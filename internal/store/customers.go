package store

import (
	"context"
	"strings"
)

const customerCols = `id, merchant_id, customer_uid, channel_id, pg_provider, pg_id, sandbox, billing_key_enc, pay_method,
	card_name, card_code, card_number, card_type, customer_id, customer_name, customer_tel, customer_email,
	customer_addr, customer_postcode, inserted, updated`

func scanCustomer(row interface{ Scan(...any) error }) (Customer, error) {
	var c Customer
	err := row.Scan(&c.ID, &c.MerchantID, &c.CustomerUID, &c.ChannelID, &c.PGProvider, &c.PGID, boolInt{&c.Sandbox},
		&c.BillingKeyEnc, &c.PayMethod, nullStr{&c.CardName}, nullStr{&c.CardCode}, nullStr{&c.CardNumber}, nullInt{&c.CardType},
		nullStr{&c.CustomerID}, nullStr{&c.CustomerName}, nullStr{&c.CustomerTel}, nullStr{&c.CustomerEmail},
		nullStr{&c.CustomerAddr}, nullStr{&c.CustomerPostcode}, &c.Inserted, &c.Updated)
	return c, mapErr(err)
}

// UpsertCustomer stores a billing key under (merchant, customer_uid),
// replacing the key a reused customer_uid had (i'mport semantics). It
// returns the stored row and the previous one, if any.
func (q Q) UpsertCustomer(ctx context.Context, c Customer) (Customer, error) {
	row := q.QueryRow(ctx, `INSERT INTO customers (merchant_id, customer_uid, channel_id, pg_provider, pg_id, sandbox, billing_key_enc,
		pay_method, card_name, card_code, card_number, card_type, customer_id, customer_name, customer_tel, customer_email,
		customer_addr, customer_postcode, inserted, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)
		ON CONFLICT (merchant_id, customer_uid) DO UPDATE SET channel_id = excluded.channel_id,
			pg_provider = excluded.pg_provider, pg_id = excluded.pg_id, sandbox = excluded.sandbox,
			billing_key_enc = excluded.billing_key_enc, pay_method = excluded.pay_method, card_name = excluded.card_name,
			card_code = excluded.card_code, card_number = excluded.card_number, card_type = excluded.card_type,
			customer_id = excluded.customer_id, customer_name = excluded.customer_name, customer_tel = excluded.customer_tel,
			customer_email = excluded.customer_email, customer_addr = excluded.customer_addr,
			customer_postcode = excluded.customer_postcode, inserted = excluded.inserted, updated = excluded.updated
		RETURNING `+customerCols,
		c.MerchantID, c.CustomerUID, c.ChannelID, c.PGProvider, c.PGID, b2i(c.Sandbox), c.BillingKeyEnc, c.PayMethod,
		nz(c.CardName), nz(c.CardCode), nz(c.CardNumber), nint(c.CardType), nz(c.CustomerID), nz(c.CustomerName),
		nz(c.CustomerTel), nz(c.CustomerEmail), nz(c.CustomerAddr), nz(c.CustomerPostcode), c.Inserted)
	return scanCustomer(row)
}

func (q Q) Customer(ctx context.Context, merchantID int64, customerUID string) (Customer, error) {
	return scanCustomer(q.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE merchant_id = $1 AND customer_uid = $2`, merchantID, customerUID))
}

// Customers returns the merchant's customers among uids (at most len(uids)).
func (q Q) Customers(ctx context.Context, merchantID int64, uids []string) ([]Customer, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	args := []any{merchantID}
	ph := make([]string, len(uids))
	for i, u := range uids {
		args = append(args, u)
		ph[i] = "$" + itoa(i+2)
	}
	rows, err := q.Query(ctx, `SELECT `+customerCols+` FROM customers WHERE merchant_id = $1 AND customer_uid IN (`+strings.Join(ph, ",")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCustomer removes the customer's billing key; ErrNotFound if absent.
func (q Q) DeleteCustomer(ctx context.Context, merchantID int64, customerUID string) (Customer, error) {
	return scanCustomer(q.QueryRow(ctx, `DELETE FROM customers WHERE merchant_id = $1 AND customer_uid = $2 RETURNING `+customerCols, merchantID, customerUID))
}

// CustomersEncryptedWith lists (id, ciphertext) of every customer of a merchant, for re-encryption.
func (q Q) CustomerKeys(ctx context.Context, merchantID int64) (map[int64][]byte, error) {
	rows, err := q.Query(ctx, `SELECT id, billing_key_enc FROM customers WHERE merchant_id = $1`, merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		out[id] = b
	}
	return out, rows.Err()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
