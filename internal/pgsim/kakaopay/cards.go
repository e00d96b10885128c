package kakaopay

// Test cards the buyer can pick on the approval page (or in the buyer step).
// They are the emulator's deterministic failure triggers.
const (
	CardNormal       = "normal"       // everything succeeds
	CardDecline      = "decline"      // approve fails: -780 with extras
	CardInsufficient = "insufficient" // issues fine; later subscription charges fail -782 (잔액부족)
	CardSuspended    = "suspended"    // issues fine; later subscription charges fail -782 (정지카드)
)

// Payment method types.
const (
	MethodCard  = "CARD"
	MethodMoney = "MONEY"
)

type testCard struct {
	label string
	info  cardInfo
}

var testCards = map[string]testCard{
	CardNormal: {"정상 카드 (normal)", cardInfo{
		KakaopayPurchaseCorp: "신한카드", KakaopayPurchaseCorpCode: "102",
		KakaopayIssuerCorp: "신한카드", KakaopayIssuerCorpCode: "102",
		PurchaseCorp: "신한카드", PurchaseCorpCode: "04", IssuerCorp: "신한카드", IssuerCorpCode: "04",
		Bin: "451842", CardType: "신용", CardMID: "123456789",
	}},
	CardDecline: {"발급 거절 카드 (decline at issuance)", cardInfo{
		KakaopayPurchaseCorp: "롯데카드", KakaopayPurchaseCorpCode: "105",
		KakaopayIssuerCorp: "롯데카드", KakaopayIssuerCorpCode: "105",
		PurchaseCorp: "롯데카드", PurchaseCorpCode: "08", IssuerCorp: "롯데카드", IssuerCorpCode: "08",
		Bin: "540926", CardType: "신용", CardMID: "123456789",
	}},
	CardInsufficient: {"잔액 부족 예정 카드 (later: insufficient funds)", cardInfo{
		KakaopayPurchaseCorp: "KB국민카드", KakaopayPurchaseCorpCode: "101",
		KakaopayIssuerCorp: "KB국민카드", KakaopayIssuerCorpCode: "101",
		PurchaseCorp: "국민카드", PurchaseCorpCode: "02", IssuerCorp: "국민카드", IssuerCorpCode: "02",
		Bin: "457973", CardType: "체크", CardMID: "123456789",
	}},
	CardSuspended: {"정지 예정 카드 (later: card suspended)", cardInfo{
		KakaopayPurchaseCorp: "현대카드", KakaopayPurchaseCorpCode: "103",
		KakaopayIssuerCorp: "현대카드", KakaopayIssuerCorpCode: "103",
		PurchaseCorp: "현대카드", PurchaseCorpCode: "03", IssuerCorp: "현대카드", IssuerCorpCode: "03",
		Bin: "433290", CardType: "신용", CardMID: "123456789",
	}},
}

var testCardOrder = []string{CardNormal, CardDecline, CardInsufficient, CardSuspended}

// cardInfoFor builds card_info for a CARD payment (nil for MONEY).
func cardInfoFor(method, card, approvedID string) *cardInfo {
	if method != MethodCard {
		return nil
	}
	tc, ok := testCards[card]
	if !ok {
		tc = testCards[CardNormal]
	}
	ci := tc.info
	ci.InstallMonth = "00"
	ci.InterestFreeInstall = "N"
	ci.InstallmentType = "CARD_INSTALLMENT"
	ci.ApprovedID = approvedID
	return &ci
}

// laterDecline is the -782 extras for a card that declines subscription charges.
func laterDecline(method, card string) *apiError {
	money := method == MethodMoney
	switch card {
	case CardInsufficient:
		if money {
			return failMethod(codeSubscrFailed, "subscription failure!", "INSUFFICIENT_BALANCE", "카카오머니 잔액이 부족합니다. (insufficient balance)")
		}
		return failMethod(codeSubscrFailed, "subscription failure!", "INSUFFICIENT_BALANCE", "잔액이 부족합니다. (insufficient funds)")
	case CardSuspended:
		if money {
			return failMethod(codeSubscrFailed, "subscription failure!", "ACCOUNT_SUSPENDED", "정지된 카카오머니 계정입니다. (account suspended)")
		}
		return failMethod(codeSubscrFailed, "subscription failure!", "CARD_SUSPENDED", "정지된 카드입니다. (card suspended)")
	}
	return nil
}

func issueDecline() *apiError {
	return failMethod(codeApproveFailed, "approval failure!", "CARD_DECLINED", "카드사 승인이 거절되었습니다. (declined by issuer)")
}
