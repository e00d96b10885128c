package kakaopay

import "net/http"

// apiError is a Kakao Pay refusal: HTTP status plus the new-API error envelope.
type apiError struct {
	status int
	code   int
	msg    string
	extras map[string]string // method_result_code / method_result_message, for method-level failures
}

func (e *apiError) Error() string { return e.msg }

func fail(code int, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg}
}

// failMethod is a card/money level refusal (-780/-781/-782) with extras.
func failMethod(code int, msg, resultCode, resultMsg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg, extras: map[string]string{
		"method_result_code":    resultCode,
		"method_result_message": resultMsg,
	}}
}

// Kakao Pay error codes (kakaopay.md §1.6) and the common platform codes used here.
const (
	codeInternal       = -1
	codeBadParam       = -2
	codeUnauthorized   = -401
	codeNotAuthed      = -701
	codeAlreadyPaid    = -702
	codeOrderMismatch  = -706
	codeUserMismatch   = -707
	codeBadPgToken     = -708
	codeOverCancel     = -710
	codeOverOriginal   = -711
	codeNoTID          = -721
	codeBadAmountInfo  = -722
	codeExpired        = -723
	codeBadSingleAmt   = -724
	codeBadTotal       = -725
	codeBadCID         = -731
	codeNoSID          = -750
	codeInactiveSID    = -751
	codeMonthlyLimit   = -752
	codeSIDUser        = -753
	codeApproveFailed  = -780
	codeSubscrFailed   = -782
	codeCannotApprove  = -783
	codeCannotCancel   = -784
	codeUnsupportedPay = -705
)

func errUnauthorized() *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "invalid secret key (Authorization: SECRET_KEY {key})"}
}
