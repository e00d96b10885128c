package app

import (
	"net/http"
	"time"

	"billkey/internal/checkout"
)

// mountCheckout serves the browser SDK (/v1/iamport.js and the legacy
// /js/iamport.payment-*.js names), the payment-window flow under /checkout/
// and, in test mode, the demo shop at /demo.
func (a *App) mountCheckout() {
	checkout.New(checkout.Config{
		Billing: a.Billing, Store: a.Store, Vault: a.Vault, PublicURL: a.Cfg.PublicURL, Log: a.Log,
		Demo:       a.Cfg.Mode == "test",
		HTTPClient: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil}},
	}).Routes(a.Mux)
}
