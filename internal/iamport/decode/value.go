package decode

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

var (
	jsonTextType   = reflect.TypeFor[JSONText]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
)

type decoder struct {
	tag string // "json" or "query"
}

// describe names the JSON kind of a tree value for error messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number " + quote(string(t))
	case string:
		return "string " + quote(t)
	case *jsonObject, map[string]any:
		return "object"
	case *jsonArray, []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// quote quotes s for an error message, shortened to 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strconv.Quote(s)
}

func child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func elem(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func asObject(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case *jsonObject:
		return t.m, true
	case map[string]any:
		return t, true
	}
	return nil, false
}

func asArray(v any) ([]any, bool) {
	switch t := v.(type) {
	case *jsonArray:
		return t.a, true
	case []any:
		return t, true
	}
	return nil, false
}

// scalarText returns the text of a string or number value.
func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return string(t), true
	}
	return "", false
}

func (d *decoder) value(v any, rv reflect.Value, path string, depth int) error {
	if depth > MaxDepth {
		return errorf(path, nil, "중첩이 너무 깊습니다 (nested deeper than %d levels)", MaxDepth)
	}
	if v == nil {
		rv.SetZero()
		return nil
	}
	switch rv.Type() {
	case jsonTextType:
		if s, ok := v.(string); ok {
			rv.SetString(s)
			return nil
		}
		s, err := jsonTextOf(v)
		if err != nil {
			return errorf(path, err, "JSON으로 변환할 수 없습니다 (cannot encode as JSON: %v)", err)
		}
		rv.SetString(s)
		return nil
	case rawMessageType:
		s, err := jsonTextOf(v)
		if err != nil {
			return errorf(path, err, "JSON으로 변환할 수 없습니다 (cannot encode as JSON: %v)", err)
		}
		rv.SetBytes([]byte(s))
		return nil
	case numberType:
		s, ok := scalarText(v)
		dec, ok2 := parseDecimal(strings.TrimSpace(s))
		if !ok || !ok2 {
			return errorf(path, nil, "숫자가 아닙니다 (not a number: %s)", describe(v))
		}
		rv.SetString(dec.canonical())
		return nil
	}

	switch rv.Kind() {
	case reflect.Pointer:
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" && emptyIsNil(rv.Type().Elem()) {
			rv.SetZero()
			return nil
		}
		p := reflect.New(rv.Type().Elem())
		if err := d.value(v, p.Elem(), path, depth+1); err != nil {
			return err
		}
		rv.Set(p)
		return nil
	case reflect.Interface:
		if rv.NumMethod() != 0 {
			return errorf(path, nil, "지원하지 않는 필드 형식입니다 (unsupported field type %s)", rv.Type())
		}
		rv.Set(reflect.ValueOf(plain(v)))
		return nil
	case reflect.String:
		s, err := toString(v, path)
		if err != nil {
			return err
		}
		rv.SetString(s)
		return nil
	case reflect.Bool:
		b, err := toBool(v, path)
		if err != nil {
			return err
		}
		rv.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		t, err := integerText(v, path)
		if err != nil || t == "" {
			if err == nil {
				rv.SetZero()
			}
			return err
		}
		n, err := strconv.ParseInt(t, 10, rv.Type().Bits())
		if err != nil {
			return errorf(path, err, "범위를 벗어난 숫자입니다 (number out of range: %s)", describe(v))
		}
		rv.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		t, err := integerText(v, path)
		if err != nil || t == "" {
			if err == nil {
				rv.SetZero()
			}
			return err
		}
		n, err := strconv.ParseUint(t, 10, rv.Type().Bits())
		if err != nil {
			return errorf(path, err, "범위를 벗어난 숫자입니다 (number out of range: %s)", describe(v))
		}
		rv.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		s, ok := scalarText(v)
		if !ok {
			return errorf(path, nil, "숫자가 아닙니다 (not a number: %s)", describe(v))
		}
		s = strings.TrimSpace(s)
		if s == "" {
			rv.SetZero()
			return nil
		}
		if _, ok := parseDecimal(s); !ok {
			return errorf(path, nil, "숫자가 아닙니다 (not a number: %s)", describe(v))
		}
		f, err := strconv.ParseFloat(s, rv.Type().Bits())
		if err != nil {
			return errorf(path, err, "범위를 벗어난 숫자입니다 (number out of range: %s)", describe(v))
		}
		rv.SetFloat(f)
		return nil
	case reflect.Slice:
		items, ok := asArray(v)
		if !ok {
			if _, isObj := asObject(v); isObj {
				return errorf(path, nil, "배열이 아닙니다 (expected an array, got %s)", describe(v))
			}
			items = []any{v} // a single value is a one-element array
		}
		s := reflect.MakeSlice(rv.Type(), len(items), len(items))
		for i, x := range items {
			if err := d.value(x, s.Index(i), elem(path, i), depth+1); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return errorf(path, nil, "지원하지 않는 필드 형식입니다 (unsupported field type %s)", rv.Type())
		}
		var entries map[string]any
		if m, ok := asObject(v); ok {
			entries = m
		} else if a, ok := asArray(v); ok { // a form group with numeric keys
			entries = make(map[string]any, len(a))
			for i, x := range a {
				entries[strconv.Itoa(i)] = x
			}
		} else {
			return errorf(path, nil, "객체가 아닙니다 (expected an object, got %s)", describe(v))
		}
		m := reflect.MakeMapWithSize(rv.Type(), len(entries))
		et := rv.Type().Elem()
		for k, x := range entries {
			ev := reflect.New(et).Elem()
			if err := d.value(x, ev, child(path, k), depth+1); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), ev)
		}
		rv.Set(m)
		return nil
	case reflect.Struct:
		m, ok := asObject(v)
		if !ok {
			return errorf(path, nil, "객체가 아닙니다 (expected an object, got %s)", describe(v))
		}
		for _, f := range fieldsOf(rv.Type(), d.tag) {
			x, present := m[f.name]
			if !present {
				continue
			}
			fv, err := fieldByIndex(rv, f.index)
			if err != nil {
				return errorf(child(path, f.name), err, "%v", err)
			}
			if err := d.value(x, fv, child(path, f.name), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return errorf(path, nil, "지원하지 않는 필드 형식입니다 (unsupported field type %s)", rv.Type())
}

// emptyIsNil reports whether an empty string sent for a pointer to t means nil.
func emptyIsNil(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return t == numberType
}

func toString(v any, path string) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case json.Number:
		if dec, ok := parseDecimal(string(t)); ok {
			return dec.canonical(), nil
		}
		return string(t), nil
	}
	return "", errorf(path, nil, "문자열이 아닙니다 (expected a string, got %s)", describe(v))
}

func toBool(v any, path string) (bool, error) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case string, json.Number:
		s, _ := scalarText(t)
		switch s = strings.TrimSpace(s); {
		case s == "1" || strings.EqualFold(s, "true"):
			return true, nil
		case s == "0" || s == "" || strings.EqualFold(s, "false"):
			return false, nil
		}
	}
	return false, errorf(path, nil, "참/거짓 값이 아닙니다 (not a boolean: %s)", describe(v))
}

// integerText validates an integer value and returns it as plain decimal
// text ("" for an empty string, meaning zero).
func integerText(v any, path string) (string, error) {
	s, ok := scalarText(v)
	if !ok {
		return "", errorf(path, nil, "숫자가 아닙니다 (not a number: %s)", describe(v))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	dec, ok := parseDecimal(s)
	if !ok {
		return "", errorf(path, nil, "숫자가 아닙니다 (not a number: %s)", describe(v))
	}
	if !dec.isInteger() {
		return "", errorf(path, nil, "정수가 아닙니다 (not an integer: %s)", describe(v))
	}
	t, ok := dec.intText(20)
	if !ok {
		return "", errorf(path, nil, "범위를 벗어난 숫자입니다 (number out of range: %s)", describe(v))
	}
	return t, nil
}

// field is one decodable struct field.
type field struct {
	name  string
	index []int
}

type fieldsKey struct {
	t   reflect.Type
	tag string
}

var fieldCache sync.Map // fieldsKey → []field

// fieldsOf lists the fields of struct type t by wire name. The name comes
// from the tag (for "query": the query tag, else the json tag), else the Go
// field name. Unexported and "-" fields are skipped; untagged embedded
// structs are flattened; an outer field hides an embedded one of the same
// name.
func fieldsOf(t reflect.Type, tag string) []field {
	key := fieldsKey{t, tag}
	if f, ok := fieldCache.Load(key); ok {
		return f.([]field)
	}
	var out []field
	seen := map[string]bool{}
	type level struct {
		t     reflect.Type
		index []int
	}
	current := []level{{t: t}}
	visited := map[reflect.Type]bool{}
	for len(current) > 0 {
		var next []level
		for _, l := range current {
			if visited[l.t] {
				continue
			}
			visited[l.t] = true
			for i := 0; i < l.t.NumField(); i++ {
				sf := l.t.Field(i)
				name, tagged := tagName(sf, tag)
				if name == "-" {
					continue
				}
				idx := append(append([]int(nil), l.index...), i)
				if sf.Anonymous && !tagged {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct {
						next = append(next, level{t: ft, index: idx})
						continue
					}
				}
				if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = sf.Name
				}
				if seen[name] {
					continue
				}
				seen[name] = true
				out = append(out, field{name: name, index: idx})
			}
		}
		current = next
	}
	fieldCache.Store(key, out)
	return out
}

func tagName(sf reflect.StructField, tag string) (string, bool) {
	tags := []string{tag}
	if tag != "json" {
		tags = append(tags, "json")
	}
	for _, k := range tags {
		if name, _, _ := strings.Cut(sf.Tag.Get(k), ","); name != "" {
			return name, true
		}
	}
	return "", false
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded
// struct pointers on the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("cannot set embedded pointer to unexported struct %s", v.Type().Elem())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
