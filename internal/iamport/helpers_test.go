package iamport_test

import (
	"time"

	"billkey/internal/store"
)

func storeFilterAll(merchantID int64) store.PaymentFilter {
	return store.PaymentFilter{MerchantID: merchantID, Limit: 10}
}

func sleepMS(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
