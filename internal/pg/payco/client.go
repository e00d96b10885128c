package payco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"billkey/internal/pg"
)

// Result codes. PAYCO publishes only 0 and 2222 (payco.md §1.6); the others
// are the numbers billkey's emulator answers (docs/pg-payco.md). Against the
// real service an unpublished code simply falls into the generic handling:
// a refusal for charges, an error elsewhere.
const (
	codeOK              = "0"
	codeUserCancel      = "2222"
	codeBadRequest      = "1001"
	codeBadSeller       = "1002"
	codeIPBlocked       = "1003"
	codeAutoPayNotFound = "3001"
	codeDuplicateOrder  = "3002"
	codeOrderNotFound   = "4001"
)

// ipRefusal is PAYCO's whitelist message (payco.md §1.6; its code is unknown).
const ipRefusal = "허용되지 않은 IP"

// bizError is a PAYCO answer with a non-zero code: the request reached PAYCO
// and PAYCO refused it.
type bizError struct {
	Code    string
	Message string
}

func (e *bizError) Error() string { return fmt.Sprintf("payco: [%s] %s", e.Code, e.Message) }

// isConfigRefusal: the merchant's request itself is wrong (bad credentials,
// unlisted IP, missing field), as opposed to a refusal of the card.
func (e *bizError) isConfigRefusal() bool {
	switch e.Code {
	case codeBadRequest, codeBadSeller, codeIPBlocked:
		return true
	}
	return strings.Contains(e.Message, ipRefusal)
}

// asPGError turns a refusal into the pg.Error for operations that have no
// "failed" result (cancel, delete): PAYCO did nothing.
func (e *bizError) asPGError() *pg.Error {
	return &pg.Error{Provider: provider, Code: e.Code, Message: e.Message}
}

type envelope struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
}

const maxResponse = 1 << 20

// call POSTs body as JSON to ch.BaseURL+path and decodes the envelope's
// result into out. It returns a *bizError for a non-zero code, a *pg.Error for
// transport and protocol failures.
func (c *Connector) call(ctx context.Context, baseURL, path string, body, out any) error {
	if baseURL == "" {
		return &pg.Error{Provider: provider, Code: "CONFIG", Message: "channel has no BaseURL"}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return &pg.Error{Provider: provider, Code: "ENCODE", Message: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+path, bytes.NewReader(payload))
	if err != nil {
		return &pg.Error{Provider: provider, Code: "CONFIG", Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &pg.Error{Provider: provider, Code: "NETWORK", Message: path + ": reading response: " + err.Error(), Unknown: true}
	}
	switch {
	case resp.StatusCode >= 500:
		return &pg.Error{Provider: provider, Code: "HTTP_" + strconv.Itoa(resp.StatusCode), Message: path + ": server error", Unknown: true}
	case resp.StatusCode >= 400:
		return &pg.Error{Provider: provider, Code: "HTTP_" + strconv.Itoa(resp.StatusCode), Message: path + ": request refused"}
	case resp.StatusCode != http.StatusOK:
		return &pg.Error{Provider: provider, Code: "HTTP_" + strconv.Itoa(resp.StatusCode), Message: path + ": unexpected status", Unknown: true}
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Code) == 0 {
		return &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: path + ": response is not a PAYCO envelope", Unknown: true}
	}
	code := strings.Trim(string(env.Code), `" `)
	if code != codeOK {
		return &bizError{Code: code, Message: env.Message}
	}
	if out == nil || len(env.Result) == 0 || string(env.Result) == "null" {
		if out != nil {
			return &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: path + ": success without result", Unknown: true}
		}
		return nil
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		return &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Message: path + ": result: " + err.Error(), Unknown: true}
	}
	return nil
}

// transportError classifies a failed round trip: a failed dial means nothing
// was sent (Unknown false); anything later may have reached PAYCO.
func transportError(path string, err error) *pg.Error {
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return &pg.Error{Provider: provider, Code: "CONNECT", Message: path + ": " + err.Error()}
	}
	code := "NETWORK"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		code = "TIMEOUT"
	}
	return &pg.Error{Provider: provider, Code: code, Message: path + ": " + err.Error(), Unknown: true}
}
