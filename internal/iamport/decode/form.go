package decode

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormTree turns URL-encoded form values with PHP/Rails bracket keys into a
// tree of map[string]any, []any and string:
//
//	extra[naverUseCfm]=20201001            → {"extra": {"naverUseCfm": "20201001"}}
//	schedules[0][amount]=10000             → {"schedules": [{"amount": "10000"}]}
//	a[]=x&a[]=y                            → {"a": ["x", "y"]}
//	k=x&k=y (a repeated plain key)         → {"k": ["x", "y"]}
//
// A bracket group whose keys are all indexes (digits, at most MaxIndex)
// becomes a []any ordered by index; gaps are closed up (a[3]=x&a[1]=y →
// [y, x]). Keys are processed in sorted order, so explicit indexes come before
// a[] appends: a[]=1&a[0]=2 → ["2", "1"]. A key whose brackets do not parse
// (a[b, a]b) is taken literally. Errors: an index above MaxIndex, more than
// MaxDepth bracket levels, and a conflict between a value and a group at the
// same name (a=1&a[b]=2).
func FormTree(v url.Values) (map[string]any, error) {
	v = validUTF8Keys(v)
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	root := &formNode{}
	for _, key := range keys {
		path, err := splitKey(key)
		if err != nil {
			return nil, err
		}
		for _, val := range v[key] {
			if err := root.set(key, path, strings.ToValidUTF8(val, "\uFFFD")); err != nil {
				return nil, err
			}
		}
	}
	out := map[string]any{}
	for k, n := range root.kids {
		out[k] = n.tree()
	}
	return out, nil
}

// validUTF8Keys replaces invalid UTF-8 in keys with U+FFFD (as JSON
// decoding does), merging keys that become equal in sorted key order.
func validUTF8Keys(v url.Values) url.Values {
	bad := false
	for k := range v {
		if !utf8.ValidString(k) {
			bad = true
			break
		}
	}
	if !bad {
		return v
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(url.Values, len(v))
	for _, k := range keys {
		nk := strings.ToValidUTF8(k, "\uFFFD")
		out[nk] = append(out[nk], v[k]...)
	}
	return out
}

type formNode struct {
	leaf bool
	vals []string
	kids map[string]*formNode
	next int // the index a[] appends at: 1 + the largest index so far
}

func (n *formNode) set(key string, path []string, val string) error {
	for i, seg := range path {
		if n.leaf {
			return conflict(key, path[:i])
		}
		if i > 0 { // the first segment is the name: never an index
			if seg == "" {
				seg = strconv.Itoa(n.next)
			}
			if idx, ok := index(seg); ok {
				if idx < 0 {
					return errorf(fieldOf(path[:i+1]), nil, "배열 인덱스가 너무 큽니다 (array index larger than %d in %q)", MaxIndex, key)
				}
				seg = strconv.Itoa(idx)
				if idx >= n.next {
					n.next = idx + 1
				}
			}
		}
		if n.kids == nil {
			n.kids = map[string]*formNode{}
		}
		c := n.kids[seg]
		if c == nil {
			c = &formNode{}
			n.kids[seg] = c
		}
		n = c
	}
	if n.kids != nil {
		return conflict(key, path)
	}
	n.leaf = true
	n.vals = append(n.vals, val)
	return nil
}

func conflict(key string, at []string) error {
	f := fieldOf(at)
	return errorf(f, nil, "값과 하위 키가 충돌합니다 (form key %q conflicts with another key for %q: a name cannot be both a value and a group)", key, f)
}

// fieldOf renders a path of form segments as a field name: a[0][b] → a[0].b.
func fieldOf(path []string) string {
	var b strings.Builder
	for i, s := range path {
		switch _, isIdx := index(s); {
		case i == 0:
			b.WriteString(s)
		case isIdx || s == "":
			b.WriteString("[" + s + "]")
		default:
			b.WriteString("." + s)
		}
	}
	return b.String()
}

// index reports whether seg is an array index (only digits). The index is -1
// when it is larger than MaxIndex.
func index(seg string) (int, bool) {
	if seg == "" {
		return 0, false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return 0, false
		}
	}
	t := strings.TrimLeft(seg, "0")
	if len(t) > 5 {
		return -1, true
	}
	n := 0
	for i := 0; i < len(t); i++ {
		n = n*10 + int(t[i]-'0')
	}
	if n > MaxIndex {
		return -1, true
	}
	return n, true
}

// splitKey splits a[b][0][] into ["a", "b", "0", ""]. A key that is not
// exactly name followed by bracket groups is one literal name.
func splitKey(key string) ([]string, error) {
	open := strings.IndexByte(key, '[')
	if open <= 0 {
		return []string{key}, nil
	}
	path := []string{key[:open]}
	rest := key[open:]
	for rest != "" {
		if rest[0] != '[' {
			return []string{key}, nil
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return []string{key}, nil
		}
		seg := rest[1:end]
		if strings.IndexByte(seg, '[') >= 0 {
			return []string{key}, nil
		}
		path = append(path, seg)
		if len(path) > MaxDepth {
			return nil, errorf(path[0], nil, "폼 키 중첩이 너무 깊습니다 (form key nested deeper than %d levels)", MaxDepth)
		}
		rest = rest[end+1:]
	}
	return path, nil
}

func (n *formNode) tree() any {
	if n.leaf {
		if len(n.vals) == 1 {
			return n.vals[0]
		}
		a := make([]any, len(n.vals))
		for i, v := range n.vals {
			a[i] = v
		}
		return a
	}
	allIdx := true
	for k := range n.kids {
		if _, ok := index(k); !ok {
			allIdx = false
			break
		}
	}
	if allIdx {
		idx := make([]int, 0, len(n.kids))
		for k := range n.kids {
			i, _ := index(k)
			idx = append(idx, i)
		}
		sort.Ints(idx)
		a := make([]any, len(idx))
		for j, i := range idx {
			a[j] = n.kids[strconv.Itoa(i)].tree()
		}
		return a
	}
	m := make(map[string]any, len(n.kids))
	for k, c := range n.kids {
		m[k] = c.tree()
	}
	return m
}

// mergeQueryArrays folds k[]=…, k[n]=… and repeated k=… into one plain k with
// several values: indexed values by index, then k[] values, then plain ones.
func mergeQueryArrays(q url.Values) (url.Values, error) {
	type group struct {
		indexed  map[int][]string
		brackets []string
		plain    []string
	}
	groups := map[string]*group{}
	get := func(name string) *group {
		g := groups[name]
		if g == nil {
			g = &group{indexed: map[int][]string{}}
			groups[name] = g
		}
		return g
	}
	out := url.Values{}
	for k, vs := range q {
		path, err := splitKey(k)
		if err != nil {
			return nil, err
		}
		switch {
		case len(path) == 1:
			get(k).plain = vs
		case len(path) == 2 && path[1] == "":
			get(path[0]).brackets = vs
		case len(path) == 2:
			i, ok := index(path[1])
			if !ok {
				out[k] = vs
				continue
			}
			if i < 0 {
				return nil, errorf(path[0], nil, "배열 인덱스가 너무 큽니다 (array index larger than %d in %q)", MaxIndex, k)
			}
			g := get(path[0])
			g.indexed[i] = append(g.indexed[i], vs...)
		default:
			out[k] = vs
		}
	}
	for name, g := range groups {
		idx := make([]int, 0, len(g.indexed))
		for i := range g.indexed {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		var all []string
		for _, i := range idx {
			all = append(all, g.indexed[i]...)
		}
		all = append(all, g.brackets...)
		all = append(all, g.plain...)
		out[name] = all
	}
	return out, nil
}
