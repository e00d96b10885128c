// Package billing holds billkey's domain rules: billing keys (customers),
// charges, cancels, window issuance and the reconciliation of charges whose
// outcome billkey did not get to record. It never holds a database
// transaction (or the SQLite writer) across a PG call: a charge is committed
// as in flight, the PG is called, and the outcome is committed after.
package billing

import (
	"errors"
	"fmt"
)

// Kind classifies domain errors; the wire layer maps each kind to an
// i'mport code and HTTP status in one place.
type Kind int

const (
	KindInvalid  Kind = iota + 1 // bad input: HTTP 400, code -1
	KindNotFound                 // lookup of something absent: HTTP 404, code -1
	KindRefused                  // a business refusal before any PG call: HTTP 200, code 1
	KindPG                       // the PG call failed or its outcome is unknown: HTTP 200, code -1
)

// Error is a domain error with an i'mport-style (Korean) message.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, a ...any) error {
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf(format, a...)}
}
func refused(format string, a ...any) error {
	return &Error{Kind: KindRefused, Message: fmt.Sprintf(format, a...)}
}
func notFound(msg string) error { return &Error{Kind: KindNotFound, Message: msg} }

// KindOf returns err's Kind, or 0 for unclassified (internal) errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Messages used by several endpoints (observed i'mport wording where known).
const (
	MsgPaymentNotFound   = "존재하지 않는 결제정보입니다."
	MsgUnknownCustomer   = "등록되지 않은 구매자입니다."
	MsgDuplicateMerchant = "이미 결제가 완료되었거나 진행 중인 merchant_uid입니다. (merchant_uid already has a paid or in-flight payment)"
	MsgCancelNotFound    = "취소할 결제건이 존재하지 않습니다."
	MsgAlreadyCancelled  = "이미 전액취소된 주문입니다."
)

// MsgCustomerNotFound is the message for an unknown customer_uid lookup.
func MsgCustomerNotFound(uid string) string {
	return fmt.Sprintf("요청하신 customer_uid(%s)로 등록된 정보를 찾을 수 없습니다.", uid)
}
