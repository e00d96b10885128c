package payco

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// kst is PAYCO's time zone; its timestamps are yyyyMMddHHmmss in KST.
var kst = time.FixedZone("KST", 9*60*60)

func ymdt(t time.Time) string { return t.In(kst).Format("20060102150405") }

// envelope is PAYCO's response body.
type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Result  any    `json:"result,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeResult answers HTTP 200 with the envelope: success when e is nil.
func writeResult(w http.ResponseWriter, result any, e *apiError) {
	if e != nil {
		writeJSON(w, http.StatusOK, envelope{Code: e.code, Message: e.msg})
		return
	}
	writeJSON(w, http.StatusOK, envelope{Code: codeOK, Message: "success", Result: result})
}

const maxBody = 1 << 20

// decodeBody reads a JSON request body into v.
func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return failMsg(codeBadRequest, "unreadable body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return failMsg(codeBadRequest, "body is not valid JSON")
	}
	return nil
}

// amount is a KRW amount as PAYCO sends it: a JSON number, possibly written
// with decimals (1500.0), or a numeric string. Fractions are refused.
type amount struct {
	V   int64
	Set bool
}

func (a *amount) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	s = strings.Trim(s, `"`)
	if s == "" {
		return nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return fmt.Errorf("amount %q has a fraction", s)
		}
		s = s[:i]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("amount %q: %w", s, err)
	}
	a.V, a.Set = v, true
	return nil
}

// digits returns n random decimal digits.
func digits(n int) string {
	var sb strings.Builder
	ten := big.NewInt(10)
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String()
}

// secretHex returns a random hex string of 2n characters.
func secretHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", b)
}

// vatSplit splits the taxable part of an amount the way PAYCO's sample does
// (1500 -> 1363 taxable + 137 VAT).
func vatSplit(total, taxfree int64) (taxable, vat int64) {
	base := total - taxfree
	if base <= 0 {
		return 0, 0
	}
	taxable = base * 10 / 11
	return taxable, base - taxable
}
