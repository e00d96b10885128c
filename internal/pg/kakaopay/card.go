package kakaopay

import (
	"strings"

	"billkey/internal/pg"
)

// kftcCodes maps card company names (as Kakao spells them) to KFTC codes.
var kftcCodes = []struct{ name, code string }{
	{"비씨", "361"}, {"BC", "361"}, {"국민", "381"}, {"KB", "381"}, {"하나", "374"}, {"삼성", "365"},
	{"신한", "366"}, {"현대", "367"}, {"롯데", "368"}, {"씨티", "370"}, {"NH", "371"}, {"농협", "371"},
	{"수협", "369"}, {"우리", "041"}, {"광주", "046"}, {"전북", "372"}, {"제주", "373"},
	{"카카오뱅크", "090"}, {"케이뱅크", "089"},
}

func kftcCode(name string) string {
	for _, c := range kftcCodes {
		if strings.Contains(name, c.name) {
			return c.code
		}
	}
	return ""
}

// cardFrom converts Kakao's card_info; zero Card for Kakao Money.
func cardFrom(ci *cardInfo) pg.Card {
	if ci == nil {
		return pg.Card{}
	}
	name := ci.KakaopayIssuerCorp
	if name == "" {
		name = ci.IssuerCorp
	}
	c := pg.Card{Name: name, Code: kftcCode(name)}
	if ci.Bin != "" {
		c.Number = ci.Bin + "**********"
	}
	switch ci.CardType {
	case "신용", "CREDIT":
		t := 0
		c.Type = &t
	case "체크", "CHECK", "DEBIT":
		t := 1
		c.Type = &t
	}
	return c
}
