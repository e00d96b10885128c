package payco

// Result codes the emulator answers in the {code, message, result} envelope.
//
// PAYCO publishes only 0 (success) and 2222 (buyer cancelled in the window);
// see payco.md §1.6. Every other number below is the emulator's own choice
// (inferred) and is documented in docs/pg-payco.md. The connector in
// internal/pg/payco knows these numbers only to tell "not found" and
// "bad credentials" apart from card refusals.
const (
	codeOK         = 0
	codeUserCancel = 2222

	codeBadRequest = 1001 // missing or malformed field
	codeBadSeller  = 1002 // unknown sellerKey / cpId
	codeIPBlocked  = 1003 // the IP whitelist refusal (trigger: sellerKey IPBLOCK)

	codeReserveNotFound = 2001
	codeReserveExpired  = 2002
	codeReserveUsed     = 2003 // a reserve registers at most once

	codeAutoPayNotFound  = 3001 // unknown, deleted, or certify key mismatch
	codeDuplicateOrder   = 3002 // sellerOrderReferenceKey already used (UNIQUE_KEY)
	codeRegisterDeclined = 3101 // card refused at registration (test card "decline")
	codeRegisterFailed   = 3102 // generic registration failure (the Fail button)
	codeInsufficient     = 3201 // later charge refused: insufficient funds / limit
	codeSuspended        = 3202 // later charge refused: card suspended

	codeOrderNotFound   = 4001
	codeCancelExceeds   = 4002 // cancelTotalAmt > remaining cancellable amount
	codeCancelMismatch  = 4003 // totalCancelPossibleAmt differs from the remaining amount
	codeCertifyInvalid  = 4004 // orderCertifyKey does not match the order
	codeNothingToRefund = 4005 // the order is fully cancelled
)

var codeMessages = map[int]string{
	codeOK:               "success",
	codeUserCancel:       "사용자가 결제를 취소하였습니다.",
	codeBadRequest:       "필수 파라미터가 누락되었거나 형식이 올바르지 않습니다.",
	codeBadSeller:        "유효하지 않은 가맹점 정보(sellerKey/cpId)입니다.",
	codeIPBlocked:        "허용되지 않은 IP 입니다.",
	codeReserveNotFound:  "존재하지 않는 주문예약입니다.",
	codeReserveExpired:   "유효시간이 만료된 주문예약입니다.",
	codeReserveUsed:      "이미 처리된 주문예약입니다.",
	codeAutoPayNotFound:  "자동결제 등록 정보가 존재하지 않습니다.",
	codeDuplicateOrder:   "이미 사용된 가맹점 주문번호입니다.",
	codeRegisterDeclined: "카드사 승인 거절로 자동결제 등록에 실패하였습니다.",
	codeRegisterFailed:   "자동결제 등록 중 오류가 발생하였습니다.",
	codeInsufficient:     "잔액 또는 한도가 부족합니다.",
	codeSuspended:        "거래정지된 카드입니다.",
	codeOrderNotFound:    "주문 정보가 존재하지 않습니다.",
	codeCancelExceeds:    "취소 요청 금액이 취소 가능 금액을 초과하였습니다.",
	codeCancelMismatch:   "취소 가능 금액이 일치하지 않습니다.",
	codeCertifyInvalid:   "주문 인증키가 올바르지 않습니다.",
	codeNothingToRefund:  "이미 전액 취소된 주문입니다.",
}

// apiError is a business refusal: HTTP 200 with a non-zero code.
type apiError struct {
	code int
	msg  string
}

func fail(code int) *apiError { return &apiError{code: code, msg: codeMessages[code]} }

func failMsg(code int, detail string) *apiError {
	return &apiError{code: code, msg: codeMessages[code] + " (" + detail + ")"}
}
