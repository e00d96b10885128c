package payco

// testCard is one card the order sheet offers. The card chosen at registration
// decides how the registration and every later charge of that autoPaymentNo
// behave (deterministic test triggers, see docs/pg-payco.md).
type testCard struct {
	ID        string // select value / headless "card"
	Label     string
	CorpCode  string // PAYCO corporationCode / cardCompanyCode
	CorpName  string
	MaskedNo  string
	RegisterC int // non-zero: registration fails with this code
	ChargeC   int // non-zero: every charge fails with this code
}

var testCards = []testCard{
	{ID: "normal", Label: "정상 카드 (등록·결제 성공)", CorpCode: "CCKM", CorpName: "KB국민카드", MaskedNo: "5365-10**-****-1234"},
	{ID: "decline", Label: "등록 거절 카드 (registration declined)", CorpCode: "CCBC", CorpName: "BC카드", MaskedNo: "9410-12**-****-0001", RegisterC: codeRegisterDeclined},
	{ID: "insufficient", Label: "잔액 부족 카드 (registers; charges decline: insufficient funds)", CorpCode: "CCSS", CorpName: "삼성카드", MaskedNo: "5310-77**-****-0002", ChargeC: codeInsufficient},
	{ID: "suspended", Label: "거래정지 카드 (registers; charges decline: card suspended)", CorpCode: "CCLG", CorpName: "신한카드", MaskedNo: "4518-44**-****-0003", ChargeC: codeSuspended},
}

func findCard(id string) (testCard, bool) {
	if id == "" {
		id = "normal"
	}
	for _, c := range testCards {
		if c.ID == id {
			return c, true
		}
	}
	return testCard{}, false
}
