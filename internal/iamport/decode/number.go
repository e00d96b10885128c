package decode

import (
	"strconv"
	"strings"
)

// decimal is a parsed decimal number: (-1)^neg × digits × 10^exp, with digits
// free of leading and trailing zeros ("" for zero).
type decimal struct {
	neg    bool
	digits string
	exp    int
}

// maxExp caps exponents so that "1e999999999" costs nothing.
const maxExp = 100000

// parseDecimal parses [+-]?d*(.d*)?([eE][+-]?d+)? with at least one mantissa
// digit: JSON numbers, and the numeric strings clients send ("3000", "-1.50",
// "+7", "1e3"). No white space, no hex, no inf/nan, no digit separators.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	var mant strings.Builder
	nd, frac := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		mant.WriteByte(s[i])
		nd++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			mant.WriteByte(s[i])
			nd++
			frac++
		}
	}
	if nd == 0 {
		return d, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		ed := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if exp < maxExp {
				exp = exp*10 + int(s[i]-'0')
			}
			ed++
		}
		if ed == 0 {
			return d, false
		}
		if exp > maxExp {
			exp = maxExp
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, false
	}
	digits := strings.TrimLeft(mant.String(), "0")
	exp -= frac
	if digits == "" {
		return decimal{}, true // zero, whatever the sign and exponent
	}
	t := strings.TrimRight(digits, "0")
	exp += len(digits) - len(t)
	d.digits, d.exp = t, exp
	return d, true
}

func (d decimal) isZero() bool { return d.digits == "" }

func (d decimal) isInteger() bool { return d.isZero() || d.exp >= 0 }

// intText returns the integer as plain decimal text, or false when it has
// more than maxDigits digits.
func (d decimal) intText(maxDigits int) (string, bool) {
	if d.isZero() {
		return "0", true
	}
	if d.exp < 0 || len(d.digits)+d.exp > maxDigits {
		return "", false
	}
	s := d.digits + strings.Repeat("0", d.exp)
	if d.neg {
		s = "-" + s
	}
	return s, true
}

// maxTextDigits bounds the text a number is expanded to for a string field.
const maxTextDigits = 400

// canonical renders the number without an exponent when that takes at most
// maxTextDigits digits, and as digits×10^exp ("-15e-1000") otherwise. The
// result is always a valid JSON number.
func (d decimal) canonical() string {
	if s, ok := d.text(); ok {
		return s
	}
	s := d.digits + "e" + strconv.Itoa(d.exp)
	if d.neg {
		s = "-" + s
	}
	return s
}

// text renders the number without an exponent when that takes at most
// maxTextDigits digits; otherwise ok is false.
func (d decimal) text() (string, bool) {
	if d.isInteger() {
		return d.intText(maxTextDigits)
	}
	p := len(d.digits) + d.exp // position of the decimal point
	var s string
	switch {
	case p > 0:
		s = d.digits[:p] + "." + d.digits[p:]
	case -p+len(d.digits) <= maxTextDigits:
		s = "0." + strings.Repeat("0", -p) + d.digits
	default:
		return "", false
	}
	if d.neg {
		s = "-" + s
	}
	return s, true
}
