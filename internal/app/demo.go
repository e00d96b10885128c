package app

import (
	"context"
	"fmt"
	"io"

	"billkey/internal/accounts"
	"billkey/internal/store"
)

// DemoChannels are the demo merchant's test channels: Kakao Pay's test
// subscription CID (the default, as in the seed), PAYCO's automatic-payment
// test seller key, and billkey's own test PG for key-in scripts.
var DemoChannels = []accounts.ChannelSpec{
	{Provider: "kakaopay", MID: "TCSUBSCRIP", Default: true, Credentials: map[string]string{"secret_key": "DEV_DEMO_SECRET_KEY"}},
	{Provider: "payco", MID: "AUTOPAY", Credentials: map[string]string{"seller_key": "AUTOPAY", "cp_id": "PARTNERTEST", "product_id": "PROD_EASY"}},
	{Provider: "testpg", MID: "billkey", Credentials: map[string]string{"secret": "test"}},
}

// EnsureDemo creates the demo merchant on the first start in test mode. It
// returns the credentials when it created them (the secret is shown once).
func (a *App) EnsureDemo(ctx context.Context) (store.Merchant, *accounts.Credentials, error) {
	if code, err := a.Store.Read().Meta(ctx, "demo_merchant_code"); err == nil {
		m, err := a.Store.Read().MerchantByCode(ctx, code)
		return m, nil, err
	} else if !store.IsNotFound(err) {
		return store.Merchant{}, nil, err
	}
	m, cred, err := a.Accounts.CreateMerchant(ctx, "billkey demo shop", "")
	if err != nil {
		return m, nil, err
	}
	for _, spec := range DemoChannels {
		if _, err := a.Accounts.AddChannel(ctx, m.ID, spec); err != nil {
			return m, nil, err
		}
	}
	err = a.Store.Write(ctx, func(q store.Q) error { return q.SetMeta(ctx, "demo_merchant_code", m.Code) })
	return m, &cred, err
}

// Banner prints the start-up banner.
func (a *App) Banner(w io.Writer, demo store.Merchant, cred *accounts.Credentials) {
	fmt.Fprintf(w, "\nbillkey is serving the i'mport V1 API at %s (mode %s, database %s)\n", a.Cfg.PublicURL, a.Cfg.Mode, a.Store.Engine())
	if a.keyCreated {
		fmt.Fprintf(w, "WARNING: generated a new master key at %s (0600). Back it up: without it the stored billing keys cannot be decrypted.\n", a.Cfg.MasterKeyFile)
	}
	if demo.ID != 0 {
		fmt.Fprintf(w, "\nDemo merchant %q\n  merchant code (IMP.init): %s\n", demo.Name, demo.Code)
		if cred != nil {
			fmt.Fprintf(w, "  REST API key:             %s\n  REST API secret:          %s   (shown once; rotate with: go run ./cmd/billkey merchant rotate-secret %s)\n",
				cred.ImpKey, cred.ImpSecret, demo.Code)
		} else {
			fmt.Fprintf(w, "  REST API key and secret were printed at first start; new ones: go run ./cmd/billkey merchant rotate-secret %s\n", demo.Code)
		}
		fmt.Fprintf(w, "  channels: kakaopay.TCSUBSCRIP (default), payco.AUTOPAY, testpg.billkey — all on built-in emulators\n")
		fmt.Fprintf(w, "  demo page: %s/demo\n", a.Cfg.PublicURL)
	}
	fmt.Fprintf(w, "  health: %s/healthz   metrics: %s/metrics\n\n", a.Cfg.PublicURL, a.Cfg.PublicURL)
}
