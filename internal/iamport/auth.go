package iamport

import (
	"net/http"

	"billkey/internal/iamport/decode"
)

type getTokenReq struct {
	ImpKey    string `json:"imp_key"`
	ImpSecret string `json:"imp_secret"`
}

// POST /users/getToken
func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	var req getTokenReq
	if err := decode.Body(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if req.ImpKey == "" || req.ImpSecret == "" {
		badRequest(w, "imp_key, imp_secret 파라메터가 누락되었습니다.")
		return
	}
	res, err := s.Accounts.GetToken(r.Context(), req.ImpKey, req.ImpSecret)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ok(w, res)
}
