package testpg

import (
	"strings"
)

// card is a test card and what it does. Any well-formed number that is not
// listed behaves like 4242-4242-4242-4242 (cardDefault).
type card struct {
	Number string // digits only; "default" for unlisted numbers
	Label  string // shown in the window's card list
	Name   string // card_name
	Code   string // KFTC card company code
	Type   int    // 0 credit, 1 check
	// IssueDecline refuses the key at issuance.
	IssueDecline *decline
	// ChargeDecline refuses every charge of the key.
	ChargeDecline *decline
	// ChargeError answers every charge with HTTP 500 without recording it.
	ChargeError bool
	// ChargeSlow records every charge as paid, then holds the response for
	// the Sim's slow_ms.
	ChargeSlow bool
}

// decline is a PG refusal: HTTP 402 {code, message}.
type decline struct {
	Code    string
	Message string
}

const (
	cardOK          = "4242424242424242"
	cardIssueFail   = "4000000000000002"
	cardInsufficent = "4000000000000341"
	cardOverLimit   = "4000000000009995"
	cardSuspended   = "4000000000009987"
	cardPGError     = "4000000000000119"
	cardSlow        = "4000000000000259"
	cardDefaultID   = "default"
)

// Declines that do not depend on the card.
var (
	declineAmount13   = &decline{"T013", "테스트 거절 (test decline: amount ending in 13)"}
	declineKeyDeleted = &decline{"K410", "삭제된 빌링키입니다 (billing key deleted)"}
	declineKeyUnknown = &decline{"K404", "존재하지 않는 빌링키입니다 (unknown billing key)"}
	declineBadNumber  = &decline{"F113", "[F113] 거래거절 카드번호틀림 (malformed card number)"}
	declineExpired    = &decline{"F054", "[F054] 유효기간 경과 (card expired)"}
)

// testCards are the listed cards, in the order the window shows them.
var testCards = []card{
	{Number: cardOK, Label: "성공 (success)", Name: "신한카드", Code: "366"},
	{Number: cardIssueFail, Label: "발급 거절 (declined at issuance)", Name: "BC카드", Code: "361",
		IssueDecline: &decline{"F113", "[F113] 거래거절 카드번호틀림"}},
	{Number: cardInsufficent, Label: "결제 거절: 잔액부족 (charges declined: insufficient funds)", Name: "KB국민카드", Code: "381", Type: 1,
		ChargeDecline: &decline{"F051", "카드 승인 거절: 잔액부족 (insufficient funds)"}},
	{Number: cardOverLimit, Label: "결제 거절: 한도초과 (charges declined: over limit)", Name: "현대카드", Code: "367",
		ChargeDecline: &decline{"F061", "카드 승인 거절: 한도초과 (over limit)"}},
	{Number: cardSuspended, Label: "결제 거절: 거래정지카드 (charges declined: card suspended)", Name: "삼성카드", Code: "365",
		ChargeDecline: &decline{"F043", "카드 승인 거절: 거래정지카드 (card suspended)"}},
	{Number: cardPGError, Label: "PG 오류: HTTP 500, 결제 안 됨 (PG error, nothing charged)", Name: "롯데카드", Code: "368",
		ChargeError: true},
	{Number: cardSlow, Label: "느린 응답: 결제됨, 응답 지연 (charged, answer delayed)", Name: "NH농협카드", Code: "371",
		ChargeSlow: true},
}

var cardDefault = card{Number: cardDefaultID, Label: "기타 카드 (any other number)", Name: "신한카드", Code: "366"}

// cardBehaviour returns the card for a behaviour id (a listed number or "default").
func cardBehaviour(id string) card {
	for _, c := range testCards {
		if c.Number == id {
			return c
		}
	}
	return cardDefault
}

// cardDigits strips the separators buyers type; ok is false unless what is
// left is 13 to 19 digits.
func cardDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == ' ':
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= 13 && len(d) <= 19
}

// behaviourID maps card digits to the id stored with a key.
func behaviourID(digits string) string {
	for _, c := range testCards {
		if c.Number == digits {
			return c.Number
		}
	}
	return cardDefaultID
}

// maskCard shows the first 6 and last 4 digits in groups of four:
// 4242-42**-****-4242.
func maskCard(digits string) string {
	n := len(digits)
	m := []byte(digits)
	for i := 6; i < n-4; i++ {
		m[i] = '*'
	}
	var b strings.Builder
	for i := 0; i < n; i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.Write(m[i:min(i+4, n)])
	}
	return b.String()
}

// formatCard writes a listed number the way it is printed: 4242-4242-4242-4242.
func formatCard(digits string) string {
	var b strings.Builder
	for i := 0; i < len(digits); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(digits[i:min(i+4, len(digits))])
	}
	return b.String()
}
