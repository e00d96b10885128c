package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

type fuzzItem struct {
	MerchantUID string            `json:"merchant_uid"`
	ScheduleAt  int64             `json:"schedule_at"`
	Amount      *int64            `json:"amount"`
	Extra       map[string]string `json:"extra"`
}

// fuzzReq has a field of every kind the decoder supports.
type fuzzReq struct {
	CustomerUID  string            `json:"customer_uid"`
	MerchantUID  []string          `json:"merchant_uid"`
	Amount       int64             `json:"amount"`
	TaxFree      *int64            `json:"tax_free"`
	CardQuota    int               `json:"card_quota"`
	ProductCount *int              `json:"product_count"`
	Small        uint16            `json:"small"`
	Escrow       bool              `json:"interest_free_by_merchant"`
	UsePoint     *bool             `json:"use_card_point"`
	VatAmount    float64           `json:"vat_amount"`
	Schedules    []fuzzItem        `json:"schedules"`
	Extra        map[string]string `json:"extra"`
	Bypass       map[string]any    `json:"bypass"`
	Any          any               `json:"any"`
	Raw          json.RawMessage   `json:"raw"`
	CustomData   JSONText          `json:"custom_data"`
	Checksum     *json.Number      `json:"checksum"`
	Buyer        *fuzzItem         `json:"buyer"`
	Name         *string           `json:"name"`
}

// FuzzBody checks that no (content type, body) pair panics, that decoding is
// deterministic, and that whatever decodes successfully survives a JSON round
// trip: encode(decode(body)) decodes to the same struct.
func FuzzBody(f *testing.F) {
	f.Add("application/json", []byte(`{"customer_uid":"c","merchant_uid":"m","amount":10000}`))
	f.Add("application/x-www-form-urlencoded", []byte(`customer_uid=c&extra[naverUseCfm]=20201001`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		// Go's fuzzer has no per-input time limit: make a slow input a
		// crash so that it is reported and saved. (Pauses in the fuzzer's
		// progress of up to -fuzzminimizetime, 60s by default, are the
		// fuzzer minimising a new input, not a slow decode.)
		slow := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("decoding took over 10s: content type %q, body %q", contentType, body))
		})
		defer slow.Stop()
		var a, b fuzzReq
		errA := decodeBytes(contentType, body, &a)
		errB := decodeBytes(contentType, body, &b)
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Fatalf("not deterministic: %v / %v\n%#v\n%#v", errA, errB, a, b)
		}
		if errA != nil {
			if _, ok := errA.(*Error); !ok && errA != ErrTooLarge {
				t.Fatalf("error of type %T: %v", errA, errA)
			}
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&a); err != nil {
			t.Fatalf("re-encode %#v: %v", a, err)
		}
		var c fuzzReq
		if err := decodeBytes("application/json", buf.Bytes(), &c); err != nil {
			t.Fatalf("re-decode %s: %v", buf.Bytes(), err)
		}
		if !reflect.DeepEqual(a, c) {
			t.Fatalf("round trip differs\nbody %q\nfirst  %#v\njson   %s\nsecond %#v", body, a, buf.Bytes(), c)
		}
	})
}
