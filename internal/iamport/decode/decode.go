// Package decode turns i'mport V1 request bodies and query strings into Go
// structs, as leniently as the real i'mport API accepts them (spec §1.2, §1.5):
//
//   - bodies are JSON or application/x-www-form-urlencoded with PHP/Rails
//     bracket keys (a[b], a[0][b], a[]);
//   - numbers arrive as JSON numbers or as numeric strings (" 3000 ");
//   - query arrays arrive as k[]=…, k[0]=… or repeated k=….
//
// Destination structs use `json:"name"` tags (Query prefers `query:"name"`).
// Supported field types: string, bool, every int/uint/float kind, pointers to
// them (an empty string or null gives nil), []T, map[string]T, nested
// structs, any (the generic value; numbers as json.Number),
// json.RawMessage (compact JSON text), json.Number and JSONText.
//
// Unknown keys are ignored and null means the zero value. Errors name the
// field: *Error{Field: "schedules[0].amount", Msg: "…"}.
package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
)

// MaxBody is the largest request body Body reads (1 MiB).
const MaxBody = 1 << 20

// Limits that keep hostile input cheap.
const (
	// MaxDepth bounds the nesting of JSON values and of form bracket keys.
	MaxDepth = 32
	// MaxIndex is the largest array index accepted in a form or query key
	// (a[10000]); indexes are never used to size an allocation.
	MaxIndex = 10000
)

// ErrTooLarge is returned by Body when the body exceeds MaxBody.
var ErrTooLarge = errors.New("decode: 요청 본문이 너무 큽니다 (request body larger than 1 MiB)")

// JSONText is a string field that also accepts any JSON value: a JSON string is
// kept as is, anything else (object, array, number, boolean) is stored as its
// compact JSON text. i'mport keeps custom_data this way (spec §1.5).
type JSONText string

// Error is a decoding failure. Field is the path of the offending value
// ("amount", "schedules[0].amount", "extra.naverUseCfm"), or "" when the body
// as a whole is malformed. Err, when set, is the underlying cause.
type Error struct {
	Field string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(field string, cause error, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// Body decodes the request body into dst, a non-nil pointer (normally to a
// struct with json tags). It reads at most MaxBody bytes. JSON is used when
// the Content-Type is application/json (or *+json), or when there is no
// recognised Content-Type and the body starts with '{' or '['; otherwise the
// body is parsed as a URL-encoded form. An empty body is an empty object.
// multipart/form-data is refused. Query parameters are not merged.
func Body(r *http.Request, dst any) error {
	if err := checkDst(dst); err != nil {
		return err
	}
	var data []byte
	if r.Body != nil {
		var err error
		data, err = io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return ErrTooLarge
			}
			return errorf("", err, "요청 본문을 읽을 수 없습니다 (cannot read request body: %v)", err)
		}
		if len(data) > MaxBody {
			return ErrTooLarge
		}
	}
	return decodeBytes(r.Header.Get("Content-Type"), data, dst)
}

// decodeBytes is Body without the reader: the content type picks the parser.
func decodeBytes(contentType string, data []byte, dst any) error {
	if err := checkDst(dst); err != nil {
		return err
	}
	trimmed := bytes.TrimSpace(data)
	mt := ""
	if contentType != "" {
		var err error
		mt, _, err = mime.ParseMediaType(contentType)
		if err != nil {
			// A broken header: fall back to sniffing, like a missing one.
			mt = ""
		}
	}
	isJSON := false
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		isJSON = true
	case mt == "application/x-www-form-urlencoded":
	case strings.HasPrefix(mt, "multipart/"):
		return errorf("", nil, "multipart 본문은 지원하지 않습니다 (multipart bodies are not supported; send JSON or application/x-www-form-urlencoded)")
	default:
		isJSON = len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	}
	if len(trimmed) == 0 {
		return decodeTree(map[string]any{}, dst, "json")
	}
	var tree any
	if isJSON {
		v, err := parseJSON(trimmed)
		if err != nil {
			return err
		}
		tree = v
	} else {
		vals, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return errorf("", err, "폼 본문 형식이 올바르지 않습니다 (malformed form body: %v)", err)
		}
		t, err := FormTree(vals)
		if err != nil {
			return err
		}
		tree = t
	}
	return decodeTree(tree, dst, "json")
}

// Query decodes query parameters into dst, a pointer to a struct whose fields
// are named by `query:"name"` tags (falling back to `json:"name"`). The same
// lenient rules as Body apply. A one-level array parameter may be sent as
// k[]=a&k[]=b, k[0]=a&k[1]=b (percent-encoded brackets included) or
// k=a&k=b; all forms are merged: indexed values in index order, then k[]
// values, then plain k values.
func Query(q url.Values, dst any) error {
	if err := checkDst(dst); err != nil {
		return err
	}
	norm, err := mergeQueryArrays(q)
	if err != nil {
		return err
	}
	tree, err := FormTree(norm)
	if err != nil {
		return err
	}
	return decodeTree(tree, dst, "query")
}

func checkDst(dst any) error {
	rv := reflect.ValueOf(dst)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode: destination must be a non-nil pointer, got %T", dst)
	}
	return nil
}

func decodeTree(tree any, dst any, tag string) error {
	d := decoder{tag: tag}
	return d.value(tree, reflect.ValueOf(dst).Elem(), "", 0)
}
