package testpg

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
)

// Error codes of the test PG (besides the card decline codes in cards.go).
const (
	codeUnauthorized   = "UNAUTHORIZED"
	codeBadRequest     = "BAD_REQUEST"
	codeInternal       = "INTERNAL"
	codePGError        = "PG_ERROR"
	codeNotFound       = "NOT_FOUND"
	codeChargeNotFound = "CHARGE_NOT_FOUND"
	codeKeyNotFound    = "KEY_NOT_FOUND"
	codeWindowNotFound = "WINDOW_NOT_FOUND"
	codeWindowUsed     = "WINDOW_USED"
	codeWindowExpired  = "WINDOW_EXPIRED"
	codeBadToken       = "BAD_TOKEN"
	codeNotPaid        = "NOT_PAID"
	codeOverCancel     = "OVER_CANCEL"
	codeCancelled      = "ALREADY_CANCELLED"
)

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	TID     string `json:"tid,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

const maxBody = 1 << 20

// decode reads a JSON body into v; on failure it answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, codeBadRequest, "body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

// randHex returns 2n random hex characters.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// digits returns n random decimal digits.
func digits(n int) string {
	var sb strings.Builder
	ten := big.NewInt(10)
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			panic(err)
		}
		fmt.Fprint(&sb, d.Int64())
	}
	return sb.String()
}

// hashSecret is how billing keys and window tokens are stored.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// newBillingKey returns "tpk_" + 24 random hex characters.
func newBillingKey() string { return "tpk_" + randHex(12) }
