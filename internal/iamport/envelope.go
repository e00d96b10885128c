// Package iamport is billkey's i'mport V1 wire layer: routes, the
// {code, message, response} envelope, request decoding, token
// authentication, and the one place where domain errors become i'mport
// codes and HTTP statuses.
package iamport

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"billkey/internal/accounts"
	"billkey/internal/billing"
	"billkey/internal/iamport/decode"
	"billkey/internal/store"
)

type envelope struct {
	Code     int     `json:"code"`
	Message  *string `json:"message"`
	Response any     `json:"response"`
}

// WriteJSON writes an envelope with the given HTTP status.
func WriteJSON(w http.ResponseWriter, status, code int, message string, response any) {
	env := envelope{Code: code, Response: response}
	if message != "" || status >= 300 || code != 0 {
		if message == "" {
			message = http.StatusText(status)
		}
		env.Message = &message
	}
	b, err := json.Marshal(env)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":-1,"message":"internal error","response":null}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(b)
}

func ok(w http.ResponseWriter, response any) { WriteJSON(w, http.StatusOK, 0, "", response) }

// Error statuses and codes, in one place.
const (
	MsgUnauthorized   = "Unauthorized: 액세스 토큰이 없거나 만료되었거나 유효하지 않습니다. (missing, expired or unknown access token)"
	MsgBadCredentials = "imp_key, imp_secret 인증에 실패했습니다. (wrong imp_key or imp_secret)"
)

func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, s.Log, err)
}

// WriteError maps an error to its envelope: the only place that does (every
// surface of the i'mport API uses it).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var de *decode.Error
	var be *billing.Error
	switch {
	case errors.Is(err, decode.ErrTooLarge):
		WriteJSON(w, http.StatusRequestEntityTooLarge, -1, "요청 본문이 너무 큽니다. (request body too large)", nil)
	case errors.As(err, &de):
		WriteJSON(w, http.StatusBadRequest, -1, de.Error(), nil)
	case errors.Is(err, accounts.ErrBadToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="iamport"`)
		WriteJSON(w, http.StatusUnauthorized, -1, MsgUnauthorized, nil)
	case errors.Is(err, accounts.ErrBadCredentials):
		WriteJSON(w, http.StatusUnauthorized, -1, MsgBadCredentials, nil)
	case errors.As(err, &be):
		switch be.Kind {
		case billing.KindInvalid:
			WriteJSON(w, http.StatusBadRequest, -1, be.Message, nil)
		case billing.KindNotFound:
			WriteJSON(w, http.StatusNotFound, -1, be.Message, nil)
		case billing.KindRefused:
			WriteJSON(w, http.StatusOK, 1, be.Message, nil)
		case billing.KindPG:
			if be.Err != nil {
				log.Warn("PG error", "route", r.Pattern, "err", be.Err)
			}
			WriteJSON(w, http.StatusOK, -1, be.Message, nil)
		default:
			internalError(w, r, log, err)
		}
	case errors.Is(err, store.ErrNotFound):
		WriteJSON(w, http.StatusNotFound, -1, billing.MsgPaymentNotFound, nil)
	case errors.Is(err, context.Canceled):
		WriteJSON(w, 499, -1, "요청이 취소되었습니다. (request cancelled)", nil)
	default:
		internalError(w, r, log, err)
	}
}

func internalError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	log.Error("internal error", "route", r.Pattern, "err", err)
	WriteJSON(w, http.StatusInternalServerError, -1, "일시적인 서버 오류입니다. 잠시 후 다시 시도하세요. (internal error)", nil)
}

func badRequest(w http.ResponseWriter, msg string) { WriteJSON(w, http.StatusBadRequest, -1, msg, nil) }
