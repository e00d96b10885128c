package decode

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

type againReq struct {
	CustomerUID   string            `json:"customer_uid"`
	MerchantUID   string            `json:"merchant_uid"`
	Amount        int64             `json:"amount"`
	Name          string            `json:"name"`
	TaxFree       *int64            `json:"tax_free"`
	CardQuota     int               `json:"card_quota"`
	InterestFree  bool              `json:"interest_free_by_merchant"`
	UseCardPoint  *bool             `json:"use_card_point"`
	CustomData    JSONText          `json:"custom_data"`
	Extra         map[string]string `json:"extra"`
	BuyerName     string            `json:"buyer_name"`
	ProductCount  *int              `json:"product_count"`
	VatAmount     float64           `json:"vat_amount"`
	Ignored       string            `json:"-"`
	unexported    string
	NoTag         string
	NoTagWithOpts string `json:",omitempty"`
}

type scheduleItem struct {
	MerchantUID string            `json:"merchant_uid"`
	ScheduleAt  int64             `json:"schedule_at"`
	Amount      int64             `json:"amount"`
	Name        string            `json:"name"`
	Extra       map[string]string `json:"extra"`
	CustomData  JSONText          `json:"custom_data"`
}

type scheduleReq struct {
	CustomerUID string         `json:"customer_uid"`
	Schedules   []scheduleItem `json:"schedules"`
}

type cancelReq struct {
	ImpUID        string         `json:"imp_uid"`
	MerchantUID   string         `json:"merchant_uid"`
	Amount        *int64         `json:"amount"`
	Checksum      *int64         `json:"checksum"`
	Reason        string         `json:"reason"`
	EnableWebhook bool           `json:"enable_webhook"`
	Extra         map[string]any `json:"extra"`
}

type unscheduleReq struct {
	CustomerUID string   `json:"customer_uid"`
	MerchantUID []string `json:"merchant_uid"`
}

func ptr[T any](v T) *T { return &v }

func decodeAs[T any](t *testing.T, ct, body string) (T, error) {
	t.Helper()
	var v T
	err := decodeBytes(ct, []byte(body), &v)
	return v, err
}

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

func TestSpecExamples(t *testing.T) {
	again := againReq{CustomerUID: "cu_1", MerchantUID: "mu_1", Amount: 10000, Name: "정기결제",
		Extra: map[string]string{"naverUseCfm": "20201001"}}
	sched := scheduleReq{CustomerUID: "cu_1", Schedules: []scheduleItem{{MerchantUID: "mu_s1", ScheduleAt: 1700000000, Amount: 10000,
		Extra: map[string]string{"naverUseCfm": "20201001"}}}}
	cancel := cancelReq{ImpUID: "imp_123412341234", Amount: ptr[int64](3000), Extra: map[string]any{"requester": "customer"}}

	tests := []struct {
		name string
		ct   string
		body string
		dst  func() any
		want any
	}{
		{"again form", ctForm, "customer_uid=cu_1&merchant_uid=mu_1&amount=10000&name=%EC%A0%95%EA%B8%B0%EA%B2%B0%EC%A0%9C&extra[naverUseCfm]=20201001",
			func() any { return new(againReq) }, &again},
		{"again form encoded brackets", ctForm, "customer_uid=cu_1&merchant_uid=mu_1&amount=10000&name=정기결제&extra%5BnaverUseCfm%5D=20201001",
			func() any { return new(againReq) }, &again},
		{"again json", ctJSON, `{"customer_uid":"cu_1","merchant_uid":"mu_1","amount":10000,"name":"정기결제","extra":{"naverUseCfm":"20201001"}}`,
			func() any { return new(againReq) }, &again},
		{"again json numbers as strings", ctJSON, `{"customer_uid":"cu_1","merchant_uid":"mu_1","amount":"10000","name":"정기결제","extra":{"naverUseCfm":20201001}}`,
			func() any { return new(againReq) }, &again},
		{"again json sniffed", "", `  {"customer_uid":"cu_1","merchant_uid":"mu_1","amount":10000.0,"name":"정기결제","extra":{"naverUseCfm":"20201001"}}`,
			func() any { return new(againReq) }, &again},
		{"schedule form", ctForm, "customer_uid=cu_1&schedules[0][merchant_uid]=mu_s1&schedules[0][schedule_at]=1700000000&schedules[0][amount]=10000&schedules[0][extra][naverUseCfm]=20201001",
			func() any { return new(scheduleReq) }, &sched},
		{"schedule json", ctJSON, `{"customer_uid":"cu_1","schedules":[{"merchant_uid":"mu_s1","schedule_at":1700000000,"amount":10000,"extra":{"naverUseCfm":"20201001"}}]}`,
			func() any { return new(scheduleReq) }, &sched},
		{"schedule json strings", ctJSON, `{"customer_uid":"cu_1","schedules":[{"merchant_uid":"mu_s1","schedule_at":"1700000000","amount":" 10000 ","extra":{"naverUseCfm":"20201001"}}]}`,
			func() any { return new(scheduleReq) }, &sched},
		{"cancel form", ctForm, "imp_uid=imp_123412341234&amount=3000&extra[requester]=customer",
			func() any { return new(cancelReq) }, &cancel},
		{"cancel json", ctJSON, `{"imp_uid":"imp_123412341234","amount":3000,"extra":{"requester":"customer"}}`,
			func() any { return new(cancelReq) }, &cancel},
		{"cancel json null checksum", ctJSON, `{"imp_uid":"imp_123412341234","amount":3000,"checksum":null,"extra":{"requester":"customer"}}`,
			func() any { return new(cancelReq) }, &cancel},
		{"cancel form empty checksum", ctForm, "imp_uid=imp_123412341234&amount=3000&checksum=&extra[requester]=customer",
			func() any { return new(cancelReq) }, &cancel},
		{"unschedule string", ctJSON, `{"customer_uid":"cu_1","merchant_uid":"mu_1"}`,
			func() any { return new(unscheduleReq) }, &unscheduleReq{"cu_1", []string{"mu_1"}}},
		{"unschedule array", ctJSON, `{"customer_uid":"cu_1","merchant_uid":["mu_1","mu_2"]}`,
			func() any { return new(unscheduleReq) }, &unscheduleReq{"cu_1", []string{"mu_1", "mu_2"}}},
		{"unschedule numbers in array", ctJSON, `{"merchant_uid":[1,"b",2.50]}`,
			func() any { return new(unscheduleReq) }, &unscheduleReq{"", []string{"1", "b", "2.5"}}},
		{"unschedule form string", ctForm, "customer_uid=cu_1&merchant_uid=mu_1",
			func() any { return new(unscheduleReq) }, &unscheduleReq{"cu_1", []string{"mu_1"}}},
		{"unschedule form brackets", ctForm, "customer_uid=cu_1&merchant_uid[]=mu_1&merchant_uid[]=mu_2",
			func() any { return new(unscheduleReq) }, &unscheduleReq{"cu_1", []string{"mu_1", "mu_2"}}},
		{"unschedule form indexes", ctForm, "customer_uid=cu_1&merchant_uid[1]=mu_2&merchant_uid[0]=mu_1",
			func() any { return new(unscheduleReq) }, &unscheduleReq{"cu_1", []string{"mu_1", "mu_2"}}},
		{"unschedule form repeated", ctForm, "merchant_uid=mu_1&merchant_uid=mu_2",
			func() any { return new(unscheduleReq) }, &unscheduleReq{"", []string{"mu_1", "mu_2"}}},
		{"unschedule null", ctJSON, `{"customer_uid":null,"merchant_uid":null}`,
			func() any { return new(unscheduleReq) }, &unscheduleReq{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.dst()
			if err := decodeBytes(tc.ct, []byte(tc.body), got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestJSONAndFormIdentical(t *testing.T) {
	pairs := []struct{ json, form string }{
		{`{"customer_uid":"c","merchant_uid":"m","amount":"5900","card_quota":3,"interest_free_by_merchant":"1","use_card_point":false,"custom_data":"{\"a\":1}","tax_free":0,"product_count":"2","vat_amount":"536.5"}`,
			`customer_uid=c&merchant_uid=m&amount=5900&card_quota=3&interest_free_by_merchant=true&use_card_point=0&custom_data=%7B%22a%22%3A1%7D&tax_free=0&product_count=2&vat_amount=536.5`},
		{`{"customer_uid":"c","schedules":[{"merchant_uid":"a","schedule_at":1,"amount":1},{"merchant_uid":"b","schedule_at":2,"amount":2,"custom_data":{"k":"v"}}]}`,
			`customer_uid=c&schedules[5][merchant_uid]=b&schedules[5][schedule_at]=2&schedules[5][amount]=2&schedules[5][custom_data][k]=v&schedules[2][merchant_uid]=a&schedules[2][schedule_at]=1&schedules[2][amount]=1`},
	}
	for i, p := range pairs {
		for _, mk := range []func() any{func() any { return new(againReq) }, func() any { return new(scheduleReq) }} {
			a, b := mk(), mk()
			if err := decodeBytes(ctJSON, []byte(p.json), a); err != nil {
				t.Fatalf("%d json: %v", i, err)
			}
			if err := decodeBytes(ctForm, []byte(p.form), b); err != nil {
				t.Fatalf("%d form: %v", i, err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%d: json and form differ\njson %+v\nform %+v", i, a, b)
			}
		}
	}
}

func TestScalars(t *testing.T) {
	type S struct {
		S   string   `json:"s"`
		I   int      `json:"i"`
		I8  int8     `json:"i8"`
		U   uint32   `json:"u"`
		P   *int64   `json:"p"`
		PI  *int     `json:"pi"`
		B   bool     `json:"b"`
		PB  *bool    `json:"pb"`
		F   float64  `json:"f"`
		L   []string `json:"l"`
		PS  *string  `json:"ps"`
		Any any      `json:"any"`
	}
	ok := []struct {
		body string
		want S
	}{
		{`{"s":3000}`, S{S: "3000"}},
		{`{"s":3000.0}`, S{S: "3000"}},
		{`{"s":1e5}`, S{S: "100000"}},
		{`{"s":1.50}`, S{S: "1.5"}},
		{`{"s":-0.001}`, S{S: "-0.001"}},
		{`{"s":1.5e-3}`, S{S: "0.0015"}},
		{`{"s":true}`, S{S: "true"}},
		{`{"s":false}`, S{S: "false"}},
		{`{"s":"x"}`, S{S: "x"}},
		{`{"i":3000}`, S{I: 3000}},
		{`{"i":"3000"}`, S{I: 3000}},
		{`{"i":" 3000 "}`, S{I: 3000}},
		{`{"i":"+3000"}`, S{I: 3000}},
		{`{"i":3000.0}`, S{I: 3000}},
		{`{"i":"3000.00"}`, S{I: 3000}},
		{`{"i":3e3}`, S{I: 3000}},
		{`{"i":-5}`, S{I: -5}},
		{`{"i":""}`, S{}},
		{`{"i":null}`, S{}},
		{`{"i8":127}`, S{I8: 127}},
		{`{"u":"4294967295"}`, S{U: 4294967295}},
		{`{"p":"7"}`, S{P: ptr[int64](7)}},
		{`{"p":0}`, S{P: ptr[int64](0)}},
		{`{"p":""}`, S{}},
		{`{"p":"  "}`, S{}},
		{`{"p":null}`, S{}},
		{`{"pi":"9"}`, S{PI: ptr(9)}},
		{`{"b":true}`, S{B: true}},
		{`{"b":"true"}`, S{B: true}},
		{`{"b":"TRUE"}`, S{B: true}},
		{`{"b":"1"}`, S{B: true}},
		{`{"b":1}`, S{B: true}},
		{`{"b":"0"}`, S{}},
		{`{"b":"false"}`, S{}},
		{`{"b":""}`, S{}},
		{`{"pb":""}`, S{}},
		{`{"pb":"false"}`, S{PB: ptr(false)}},
		{`{"f":"1.25"}`, S{F: 1.25}},
		{`{"f":2}`, S{F: 2}},
		{`{"l":"one"}`, S{L: []string{"one"}}},
		{`{"l":7}`, S{L: []string{"7"}}},
		{`{"l":[]}`, S{L: []string{}}},
		{`{"l":["a",2,true]}`, S{L: []string{"a", "2", "true"}}},
		{`{"ps":""}`, S{PS: ptr("")}},
		{`{"any":{"a":[1,"x",null]}}`, S{Any: map[string]any{"a": []any{json.Number("1"), "x", nil}}}},
		{`{"unknown":{"deep":[1,2,3]},"s":"k"}`, S{S: "k"}},
		{`{"s":"a","s":"b"}`, S{S: "b"}},
		{`{"S":"wrong case is unknown"}`, S{}},
	}
	for _, tc := range ok {
		got, err := decodeAs[S](t, ctJSON, tc.body)
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.body, got, tc.want)
		}
	}

	bad := []struct {
		body, field, msg string
	}{
		{`{"i":1.5}`, "i", "not an integer"},
		{`{"i":"3000.5"}`, "i", "not an integer"},
		{`{"i":"abc"}`, "i", `숫자가 아닙니다 (not a number: string "abc")`},
		{`{"i":"1,000"}`, "i", "not a number"},
		{`{"i":"0x10"}`, "i", "not a number"},
		{`{"i":true}`, "i", "not a number"},
		{`{"i":{}}`, "i", "not a number"},
		{`{"i":99999999999999999999}`, "i", "out of range"},
		{`{"i":1e400}`, "i", "out of range"},
		{`{"i":1e999999999999}`, "i", "out of range"},
		{`{"i8":128}`, "i8", "out of range"},
		{`{"u":-1}`, "u", "out of range"},
		{`{"p":"x"}`, "p", "not a number"},
		{`{"b":"yes"}`, "b", "not a boolean"},
		{`{"b":2}`, "b", "not a boolean"},
		{`{"f":"NaN"}`, "f", "not a number"},
		{`{"f":"inf"}`, "f", "not a number"},
		{`{"f":1e999}`, "f", "out of range"},
		{`{"s":{"a":1}}`, "s", "expected a string"},
		{`{"s":[1]}`, "s", "expected a string"},
		{`{"l":{"a":"b"}}`, "l", "expected an array"},
		{`{"l":[{}]}`, "l[0]", "expected a string"},
	}
	for _, tc := range bad {
		_, err := decodeAs[S](t, ctJSON, tc.body)
		var de *Error
		if !errors.As(err, &de) {
			t.Errorf("%s: want *Error, got %v", tc.body, err)
			continue
		}
		if de.Field != tc.field || !strings.Contains(de.Error(), tc.msg) {
			t.Errorf("%s: got field %q err %q; want field %q containing %q", tc.body, de.Field, de.Error(), tc.field, tc.msg)
		}
	}
}

func TestNestedErrorsNameTheField(t *testing.T) {
	_, err := decodeAs[scheduleReq](t, ctForm, "schedules[0][amount]=1&schedules[3][amount]=abc")
	var de *Error
	if !errors.As(err, &de) || de.Field != "schedules[1].amount" {
		t.Fatalf("got %v", err)
	}
	if got := de.Error(); !strings.HasPrefix(got, `schedules[1].amount: 숫자가 아닙니다 (not a number: string "abc")`) {
		t.Fatalf("message %q", got)
	}
	_, err = decodeAs[againReq](t, ctJSON, `{"extra":{"k":{"x":1}}}`)
	if !errors.As(err, &de) || de.Field != "extra.k" {
		t.Fatalf("got %v", err)
	}
}

func TestJSONText(t *testing.T) {
	type S struct {
		C JSONText        `json:"custom_data"`
		R json.RawMessage `json:"raw"`
	}
	tests := []struct {
		ct, body string
		want     S
	}{
		{ctJSON, `{"custom_data":"{\"orderName\":\"x\"}"}`, S{C: `{"orderName":"x"}`}},
		{ctJSON, `{"custom_data": { "b" : 1, "a" : [ true, null, "<&>" ] } }`, S{C: `{"b":1,"a":[true,null,"<&>"]}`}},
		{ctJSON, `{"custom_data":[1, 2]}`, S{C: `[1,2]`}},
		{ctJSON, `{"custom_data":12.50}`, S{C: `12.50`}},
		{ctJSON, `{"custom_data":false}`, S{C: `false`}},
		{ctJSON, `{"custom_data":null}`, S{}},
		{ctJSON, `{"custom_data":""}`, S{}},
		{ctForm, `custom_data=plain`, S{C: "plain"}},
		{ctForm, `custom_data[b]=1&custom_data[a]=x`, S{C: `{"a":"x","b":"1"}`}},
		{ctJSON, `{"raw": {"x" : [1, "y"]}}`, S{R: json.RawMessage(`{"x":[1,"y"]}`)}},
		{ctJSON, `{"raw":"s"}`, S{R: json.RawMessage(`"s"`)}},
		{ctJSON, `{"raw":-1.0}`, S{R: json.RawMessage(`-1.0`)}},
		{ctJSON, `{"raw":null}`, S{}},
		{ctForm, `raw=s`, S{R: json.RawMessage(`"s"`)}},
	}
	for _, tc := range tests {
		got, err := decodeAs[S](t, tc.ct, tc.body)
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.body, got, tc.want)
		}
	}
}

func TestMapsAndStructs(t *testing.T) {
	type Inner struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	type Embedded struct {
		E string `json:"e"`
		N string `json:"n"`
	}
	type S struct {
		Embedded
		N   int               `json:"n"` // hides Embedded.N
		In  Inner             `json:"in"`
		PIn *Inner            `json:"pin"`
		L   []Inner           `json:"l"`
		M   map[string]string `json:"m"`
		MA  map[string]any    `json:"ma"`
		MI  map[string]int    `json:"mi"`
	}
	got, err := decodeAs[S](t, ctForm, "e=emb&n=5&in[a]=1&in[b]=x&pin[a]=2&l[10][a]=3&l[2][b]=y&m[k]=v&ma[x][y]=z&ma[n]=1&mi[0]=4&mi[1]=5")
	if err != nil {
		t.Fatal(err)
	}
	want := S{Embedded: Embedded{E: "emb"}, N: 5, In: Inner{1, "x"}, PIn: &Inner{A: 2}, L: []Inner{{B: "y"}, {A: 3}},
		M: map[string]string{"k": "v"}, MA: map[string]any{"x": map[string]any{"y": "z"}, "n": "1"}, MI: map[string]int{"0": 4, "1": 5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %+v\nwant %+v", got, want)
	}
	j, err := decodeAs[S](t, ctJSON, `{"e":"emb","n":"5","in":{"a":"1","b":"x"},"pin":{"a":2},"l":[{"b":"y"},{"a":3}],"m":{"k":"v"},"ma":{"x":{"y":"z"},"n":"1"},"mi":{"0":4,"1":"5"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(j, want) {
		t.Fatalf("json:\n got %+v\nwant %+v", j, want)
	}
	if _, err := decodeAs[S](t, ctJSON, `{"l":{"a":1}}`); err == nil {
		t.Fatal("object for a slice of structs: want error")
	}
	if _, err := decodeAs[S](t, ctJSON, `{"in":[1]}`); err == nil {
		t.Fatal("array for a struct: want error")
	}
	if _, err := decodeAs[S](t, ctJSON, `[1,2]`); err == nil {
		t.Fatal("top-level array: want error")
	}
}

func TestBodyTransport(t *testing.T) {
	req := func(ct, body string) *httptestReq { return &httptestReq{ct, body} }
	type S struct {
		A string `json:"a"`
	}
	ok := []struct {
		r    *httptestReq
		want S
	}{
		{req("application/json; charset=utf-8", `{"a":"1"}`), S{"1"}},
		{req("application/vnd.api+json", `{"a":"1"}`), S{"1"}},
		{req("application/x-www-form-urlencoded; charset=UTF-8", `a=1`), S{"1"}},
		{req("", `{"a":"1"}`), S{"1"}},
		{req("", `a=1`), S{"1"}},
		{req("text/plain", `{"a":"1"}`), S{"1"}},
		{req(ctForm, ``), S{}},
		{req(ctJSON, ``), S{}},
		{req(ctJSON, "  \n"), S{}},
		{req("", ``), S{}},
		{req("bogus;;", `a=1`), S{"1"}},
	}
	for _, tc := range ok {
		var got S
		if err := Body(tc.r.build(), &got); err != nil || got != tc.want {
			t.Errorf("%q %q: got %+v, %v", tc.r.ct, tc.r.body, got, err)
		}
	}
	// Query parameters are not merged into the body.
	r := httptest.NewRequest("POST", "/x?a=fromquery", strings.NewReader(""))
	var s S
	if err := Body(r, &s); err != nil || s.A != "" {
		t.Fatalf("query merged: %+v %v", s, err)
	}
	// multipart
	var de *Error
	if err := Body(req("multipart/form-data; boundary=x", "--x--").build(), &s); !errors.As(err, &de) {
		t.Fatalf("multipart: %v", err)
	}
	// too large
	big := `{"a":"` + strings.Repeat("x", MaxBody) + `"}`
	if err := Body(req(ctJSON, big).build(), &s); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	exact := `{"a":"` + strings.Repeat("x", MaxBody-8) + `"}`
	if err := Body(req(ctJSON, exact).build(), &s); err != nil {
		t.Fatalf("exactly MaxBody: %v", err)
	}
	// bad destinations
	if err := Body(req(ctJSON, `{}`).build(), s); err == nil {
		t.Fatal("non-pointer dst: want error")
	}
	if err := Body(req(ctJSON, `{}`).build(), (*S)(nil)); err == nil {
		t.Fatal("nil dst: want error")
	}
}

type httptestReq struct{ ct, body string }

func (h *httptestReq) build() *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader(h.body))
	if h.ct != "" {
		r.Header.Set("Content-Type", h.ct)
	}
	return r
}

func TestMalformedJSON(t *testing.T) {
	type S struct {
		A any `json:"a"`
	}
	for _, body := range []string{
		`{`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":1}}`, `{"a":1} {"b":2}`, `{"a":[1,2}`, `{'a':1}`, `{"a":tru}`,
		`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		strings.Repeat(`{"a":`, 100000),
	} {
		_, err := decodeAs[S](t, ctJSON, body)
		var de *Error
		if !errors.As(err, &de) || de.Field != "" {
			t.Errorf("%.40q: want *Error with empty field, got %v", body, err)
		}
	}
	// 32 levels are fine.
	deep := `{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`
	if _, err := decodeAs[S](t, ctJSON, deep); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
}

func TestFormTree(t *testing.T) {
	tests := []struct {
		q    string
		want map[string]any
		err  string
	}{
		{q: "a=1", want: map[string]any{"a": "1"}},
		{q: "a=1&a=2", want: map[string]any{"a": []any{"1", "2"}}},
		{q: "a[]=1&a[]=2", want: map[string]any{"a": []any{"1", "2"}}},
		{q: "a[]=1&a[0]=2", want: map[string]any{"a": []any{"2", "1"}}},
		{q: "a[3]=x&a[1]=y", want: map[string]any{"a": []any{"y", "x"}}},
		{q: "a[b][c]=1&a[b][d]=2", want: map[string]any{"a": map[string]any{"b": map[string]any{"c": "1", "d": "2"}}}},
		{q: "a[0][b]=1&a[0][c]=2&a[1][b]=3", want: map[string]any{"a": []any{map[string]any{"b": "1", "c": "2"}, map[string]any{"b": "3"}}}},
		{q: "a[x]=1&a[0]=2", want: map[string]any{"a": map[string]any{"x": "1", "0": "2"}}},
		{q: "a[007]=1", want: map[string]any{"a": []any{"1"}}},
		{q: "a[-1]=1", want: map[string]any{"a": map[string]any{"-1": "1"}}},
		{q: "a[10000]=1", want: map[string]any{"a": []any{"1"}}},
		{q: "a[b=1&c]=2&d[e]f=3&[x]=4", want: map[string]any{"a[b": "1", "c]": "2", "d[e]f": "3", "[x]": "4"}},
		{q: "a[]", want: map[string]any{"a": []any{""}}},
		{q: "a=%FF", want: map[string]any{"a": "\uFFFD"}},
		{q: "a[10001]=1", err: "array index larger than 10000"},
		{q: "a[99999999999999999999999]=1", err: "array index larger than 10000"},
		{q: "a=1&a[b]=2", err: "conflicts"},
		{q: "a[b]=1&a[b][c]=2", err: "conflicts"},
		{q: "a" + strings.Repeat("[x]", 40) + "=1", err: "deeper than 32"},
	}
	for _, tc := range tests {
		v, err := url.ParseQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FormTree(v)
		if tc.err != "" {
			var de *Error
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: want error %q, got %v (%v)", tc.q, tc.err, err, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.q, got, err, tc.want)
		}
	}
}

func TestQuery(t *testing.T) {
	type Q struct {
		ImpUID      []string `query:"imp_uid"`
		MerchantUID []string `json:"merchant_uid"`
		Page        int      `query:"page" json:"p"`
		Limit       *int     `query:"limit"`
		Sorting     string   `query:"sorting"`
	}
	tests := []struct {
		raw  string
		want Q
		err  string
	}{
		{raw: "imp_uid[]=a&imp_uid[]=b", want: Q{ImpUID: []string{"a", "b"}}},
		{raw: "imp_uid%5B%5D=a&imp_uid%5B%5D=b", want: Q{ImpUID: []string{"a", "b"}}},
		{raw: "imp_uid%5B1%5D=b&imp_uid%5B0%5D=a", want: Q{ImpUID: []string{"a", "b"}}},
		{raw: "imp_uid[10]=c&imp_uid[2]=b&imp_uid[0]=a", want: Q{ImpUID: []string{"a", "b", "c"}}},
		{raw: "imp_uid=a&imp_uid=b", want: Q{ImpUID: []string{"a", "b"}}},
		{raw: "imp_uid=a", want: Q{ImpUID: []string{"a"}}},
		{raw: "imp_uid[1]=c&imp_uid[]=d&imp_uid=e&imp_uid[0]=b", want: Q{ImpUID: []string{"b", "c", "d", "e"}}},
		{raw: "imp_uid[]=a&merchant_uid[]=m1&merchant_uid[]=m2&page=2&limit=&sorting=-started", want: Q{ImpUID: []string{"a"}, MerchantUID: []string{"m1", "m2"}, Page: 2, Sorting: "-started"}},
		{raw: "p=9", want: Q{}},
		{raw: "page=%202%20&limit=20", want: Q{Page: 2, Limit: ptr(20)}},
		{raw: "page=x", err: "page: 숫자가 아닙니다"},
		{raw: "page=1&page=2", err: "page"},
		{raw: "imp_uid[10001]=a", err: "array index larger than 10000"},
		{raw: "imp_uid[]=a&imp_uid[x]=b", err: "conflicts"},
	}
	for _, tc := range tests {
		v, err := url.ParseQuery(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		var got Q
		err = Query(v, &got)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: want error %q, got %v", tc.raw, tc.err, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		text string
		ok   bool
	}{
		{"0", "0", true}, {"-0", "0", true}, {"0.000", "0", true}, {"0e999999999999", "0", true},
		{"3000", "3000", true}, {"3000.0", "3000", true}, {"3e3", "3000", true}, {"30E+2", "3000", true},
		{"1.5", "1.5", true}, {"-1.50", "-1.5", true}, {"15e-1", "1.5", true}, {"1e-3", "0.001", true},
		{".5", "0.5", true}, {"5.", "5", true}, {"+7", "7", true}, {"007", "7", true},
		{"", "", false}, {"-", "", false}, {".", "", false}, {"1e", "", false}, {"1e+", "", false},
		{"1.2.3", "", false}, {"0x1f", "", false}, {"1_000", "", false}, {"inf", "", false}, {" 1", "", false},
	}
	for _, tc := range tests {
		d, ok := parseDecimal(tc.in)
		if ok != tc.ok {
			t.Errorf("%q: ok=%v", tc.in, ok)
			continue
		}
		if !ok {
			continue
		}
		if s, _ := d.text(); s != tc.text {
			t.Errorf("%q: text %q want %q", tc.in, s, tc.text)
		}
	}
	if _, ok := (mustDecimal(t, "1e999999")).text(); ok {
		t.Error("1e999999 should not expand")
	}
	if _, ok := (mustDecimal(t, "1e-999999")).text(); ok {
		t.Error("1e-999999 should not expand")
	}
}

func mustDecimal(t *testing.T, s string) decimal {
	d, ok := parseDecimal(s)
	if !ok {
		t.Fatalf("parseDecimal(%q) failed", s)
	}
	return d
}
