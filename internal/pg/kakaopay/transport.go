package kakaopay

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
	"syscall"

	"billkey/internal/pg"
)

const provider = "kakaopay"

// maxResponse bounds how much of a Kakao response is read.
const maxResponse = 1 << 20

// kakaoError is a Kakao Pay refusal: an HTTP 4xx answer carrying a Kakao
// error_code. Callers turn it into a "failed" result (charges, issuance) or a
// non-unknown *pg.Error (operations whose results have no failed status).
type kakaoError struct {
	HTTPStatus int
	Code       int
	Message    string // error_message plus the extras' method result
}

func (e *kakaoError) code() string { return strconv.Itoa(e.Code) }

func (e *kakaoError) pgError() *pg.Error {
	return &pg.Error{Provider: provider, Code: e.code(), Message: e.Message, Unknown: false}
}

// configCodes are Kakao codes that mean the channel is misconfigured
// (credentials, CID, IP/domain registration): errors, never business refusals.
var configCodes = map[int]bool{
	-3: true, -4: true, -5: true, -10: true, -301: true, -401: true,
	-730: true, -731: true, -732: true, -733: true, -798: true, -799: true,
}

// post sends body to {BaseURL}/online/v1/payment/{path} and decodes a 200
// answer into out. A Kakao 4xx business refusal comes back as *kakaoError with
// a nil error; everything else that goes wrong is a *pg.Error.
func (c *Connector) post(ctx context.Context, ch pg.Channel, path string, body, out any) (*kakaoError, error) {
	if ch.BaseURL == "" {
		return nil, &pg.Error{Provider: provider, Code: "CONFIG", Message: "channel has no base URL"}
	}
	secret := ch.Credentials["secret_key"]
	if secret == "" {
		return nil, &pg.Error{Provider: provider, Code: "CONFIG", Message: "channel has no secret_key"}
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, &pg.Error{Provider: provider, Code: "ENCODE", Message: err.Error()}
	}
	endpoint := strings.TrimRight(ch.BaseURL, "/") + "/online/v1/payment/" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(buf))
	if err != nil {
		return nil, &pg.Error{Provider: provider, Code: "CONFIG", Message: "bad base URL"}
	}
	req.Header.Set("Authorization", "SECRET_KEY "+secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &pg.Error{Provider: provider, Code: "READ", Unknown: true,
			Message: path + ": reading the response failed: " + err.Error()}
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, &pg.Error{Provider: provider, Code: "BAD_RESPONSE", Unknown: true,
				Message: path + ": undecodable 200 response"}
		}
		return nil, nil
	}
	var eb errorBody
	parsed := json.Unmarshal(raw, &eb) == nil && eb.ErrorCode != nil
	httpCode := "HTTP_" + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode >= 500:
		code, msg := httpCode, path+": "+http.StatusText(resp.StatusCode)
		if parsed {
			code, msg = strconv.Itoa(*eb.ErrorCode), path+": "+eb.message()
		}
		return nil, &pg.Error{Provider: provider, Code: code, Message: msg, Unknown: true}
	case !parsed:
		return nil, &pg.Error{Provider: provider, Code: httpCode, Unknown: resp.StatusCode < 400,
			Message: path + ": unexpected answer " + resp.Status}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
		resp.StatusCode == http.StatusTooManyRequests || configCodes[*eb.ErrorCode]:
		return nil, &pg.Error{Provider: provider, Code: strconv.Itoa(*eb.ErrorCode),
			Message: path + ": " + eb.message()}
	case resp.StatusCode >= 400:
		return &kakaoError{HTTPStatus: resp.StatusCode, Code: *eb.ErrorCode, Message: eb.message()}, nil
	default: // 1xx/3xx with an error body: treat as not understood
		return nil, &pg.Error{Provider: provider, Code: httpCode, Unknown: true,
			Message: path + ": unexpected answer " + resp.Status}
	}
}

// transportError classifies a failed round trip. Connection refused and DNS
// failures mean nothing reached Kakao; anything else may have.
func transportError(path string, err error) *pg.Error {
	e := &pg.Error{Provider: provider, Code: "TRANSPORT", Unknown: true, Message: path + ": " + err.Error()}
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Code, e.Unknown = "CONNECTION_REFUSED", false
	case errors.As(err, &dnsErr):
		e.Code, e.Unknown = "DNS", false
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		e.Code = "TIMEOUT"
	case errors.Is(err, context.Canceled):
		e.Code = "CANCELED"
	}
	return e
}

func errf(code, format string, a ...any) *pg.Error {
	return &pg.Error{Provider: provider, Code: code, Message: fmt.Sprintf(format, a...)}
}
