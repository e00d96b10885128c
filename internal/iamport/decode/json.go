package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// jsonObject and jsonArray are JSON containers as parsed from a body. They
// keep their source text so that JSONText and json.RawMessage fields can
// store exactly what the client sent (compacted).
type jsonObject struct {
	m   map[string]any
	raw []byte
}

type jsonArray struct {
	a   []any
	raw []byte
}

// parseJSON parses one JSON value (the whole of data) into a tree of
// *jsonObject, *jsonArray, string, json.Number, bool and nil. Nesting deeper
// than MaxDepth is an error. Invalid UTF-8 in strings becomes U+FFFD.
func parseJSON(data []byte) (any, error) {
	p := jsonParser{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	p.dec.UseNumber()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errorf("", err, "JSON 형식이 올바르지 않습니다 (malformed JSON: unexpected data after the top-level value)")
	}
	return v, nil
}

type jsonParser struct {
	dec  *json.Decoder
	data []byte
}

func malformed(err error) *Error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf("", err, "JSON 형식이 올바르지 않습니다 (malformed JSON: unexpected end of input)")
	}
	return errorf("", err, "JSON 형식이 올바르지 않습니다 (malformed JSON: %v)", err)
}

func (p *jsonParser) value(depth int) (any, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= MaxDepth {
		return nil, errorf("", nil, "JSON 중첩이 너무 깊습니다 (JSON nested deeper than %d levels)", MaxDepth)
	}
	switch d {
	case '{':
		obj := &jsonObject{m: map[string]any{}}
		for p.dec.More() {
			kt, err := p.dec.Token()
			if err != nil {
				return nil, malformed(err)
			}
			key, ok := kt.(string)
			if !ok {
				return nil, errorf("", nil, "JSON 형식이 올바르지 않습니다 (malformed JSON: object key is not a string)")
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj.m[key] = v // a duplicate key: the last one wins, as in encoding/json
		}
		if _, err := p.dec.Token(); err != nil { // '}'
			return nil, malformed(err)
		}
		obj.raw = p.raw(start)
		return obj, nil
	case '[':
		arr := &jsonArray{a: []any{}}
		for p.dec.More() {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr.a = append(arr.a, v)
		}
		if _, err := p.dec.Token(); err != nil { // ']'
			return nil, malformed(err)
		}
		arr.raw = p.raw(start)
		return arr, nil
	}
	return nil, errorf("", nil, "JSON 형식이 올바르지 않습니다 (malformed JSON: unexpected %q)", rune(d))
}

// raw returns the source text of the value that started at offset start and
// ended at the decoder's current offset. The span may begin with the ':' or
// ',' that preceded the value, and with white space; those are trimmed.
func (p *jsonParser) raw(start int64) []byte {
	end := p.dec.InputOffset()
	if start < 0 || end > int64(len(p.data)) || start > end {
		return nil
	}
	return bytes.TrimLeft(p.data[start:end], " \t\r\n:,")
}

// compactJSON returns the compact form of valid JSON text with invalid UTF-8
// replaced by U+FFFD (as encoding/json does for decoded strings).
func compactJSON(raw []byte) (string, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return strings.ToValidUTF8(buf.String(), "\uFFFD"), nil
}

// marshalJSON encodes a generic value without HTML escaping.
func marshalJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// plain converts a tree value into the generic form encoding/json produces
// with UseNumber: map[string]any, []any, string, json.Number, bool, nil.
func plain(v any) any {
	switch t := v.(type) {
	case *jsonObject:
		m := make(map[string]any, len(t.m))
		for k, x := range t.m {
			m[k] = plain(x)
		}
		return m
	case *jsonArray:
		a := make([]any, len(t.a))
		for i, x := range t.a {
			a[i] = plain(x)
		}
		return a
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = plain(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = plain(x)
		}
		return a
	}
	return v
}

// jsonTextOf returns the JSON text of a tree value: the compacted source for
// parsed JSON containers, an encoding otherwise.
func jsonTextOf(v any) (string, error) {
	switch t := v.(type) {
	case *jsonObject:
		if t.raw != nil {
			return compactJSON(t.raw)
		}
	case *jsonArray:
		if t.raw != nil {
			return compactJSON(t.raw)
		}
	case json.Number:
		return string(t), nil
	}
	return marshalJSON(plain(v))
}
