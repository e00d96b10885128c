package webhook

import (
	"net/http"

	"billkey/internal/iamport"
	"billkey/internal/iamport/decode"
	"billkey/internal/store"
)

type attemptObj struct {
	Attempt    int64   `json:"attempt"`
	Manual     bool    `json:"manual"`
	URL        string  `json:"url"`
	StatusCode int64   `json:"status_code"`
	Error      *string `json:"error"`
	DurationMS int64   `json:"duration_ms"`
	At         int64   `json:"at"`
}

type eventObj struct {
	EventID       string       `json:"event_id"`
	ImpUID        string       `json:"imp_uid"`
	MerchantUID   string       `json:"merchant_uid"`
	Status        string       `json:"status"`
	Reason        string       `json:"reason"`
	URL           string       `json:"url"`
	ContentType   string       `json:"content_type"`
	Body          string       `json:"body"`
	State         string       `json:"state"`
	Attempts      int64        `json:"attempts"`
	NextAttemptAt int64        `json:"next_attempt_at"`
	DeliveredAt   int64        `json:"delivered_at"`
	CreatedAt     int64        `json:"created_at"`
	AttemptLog    []attemptObj `json:"attempt_log"`
}

func attemptJSON(a store.WebhookAttempt) attemptObj {
	o := attemptObj{Attempt: a.Attempt, Manual: a.Manual, URL: a.URL, StatusCode: a.StatusCode, DurationMS: a.DurationMS, At: a.At}
	if a.Error != "" {
		e := a.Error
		o.Error = &e
	}
	return o
}

func eventJSON(e store.WebhookEvent) eventObj {
	o := eventObj{EventID: e.EventID, ImpUID: e.ImpUID, MerchantUID: e.MerchantUID, Status: e.Status, Reason: e.Reason, URL: e.URL,
		ContentType: e.ContentType, Body: e.Body, State: e.State, Attempts: e.Attempts, DeliveredAt: e.DeliveredAt,
		CreatedAt: e.CreatedAt, AttemptLog: []attemptObj{}}
	if e.State == store.WebhookPending {
		o.NextAttemptAt = e.NextAttemptAt
	}
	for _, a := range e.AttemptLog {
		o.AttemptLog = append(o.AttemptLog, attemptJSON(a))
	}
	return o
}

type listQuery struct {
	ImpUID      string `query:"imp_uid"`
	MerchantUID string `query:"merchant_uid"`
	State       string `query:"state"`
	Page        int    `query:"page"`
	Limit       int    `query:"limit"`
}

// Routes registers the merchant's webhook API (authenticated like the i'mport API):
//
//	GET    /billkey/webhooks?imp_uid=&merchant_uid=&state=&page=&limit=   events with every attempt
//	POST   /billkey/webhooks/{event_id}/resend                           one attempt now
//	POST   /billkey/webhooks/secret                                      new signing secret (shown once)
//	DELETE /billkey/webhooks/secret                                      stop signing
func (s *Service) Routes(mux *http.ServeMux, auth func(iamport.AuthedHandler) http.Handler) {
	mux.Handle("GET /billkey/webhooks", auth(s.list))
	mux.Handle("POST /billkey/webhooks/secret", auth(s.newSecret))
	mux.Handle("DELETE /billkey/webhooks/secret", auth(s.deleteSecret))
	mux.Handle("POST /billkey/webhooks/{event_id}/resend", auth(s.resend))
}

func bad(w http.ResponseWriter, msg string) {
	iamport.WriteJSON(w, http.StatusBadRequest, -1, msg, nil)
}

func (s *Service) internal(w http.ResponseWriter, r *http.Request, err error) {
	iamport.WriteError(w, r, s.Log, err)
}

func (s *Service) list(w http.ResponseWriter, r *http.Request, merchantID int64) {
	var q listQuery
	if err := decode.Query(r.URL.Query(), &q); err != nil {
		bad(w, err.Error())
		return
	}
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Limit < 0 || q.Limit > 100 || q.Page < 0 || q.Page > 1_000_000 {
		bad(w, "limit은 1..100, page는 1 이상이어야 합니다. (limit must be 1..100, page >= 1)")
		return
	}
	switch q.State {
	case "", store.WebhookPending, store.WebhookDelivered, store.WebhookFailed:
	default:
		bad(w, "state는 pending, delivered, failed 중 하나여야 합니다. (state must be pending, delivered or failed)")
		return
	}
	evs, total, err := s.Store.Read().WebhookEvents(r.Context(), store.WebhookFilter{MerchantID: merchantID, ImpUID: q.ImpUID,
		MerchantUID: q.MerchantUID, State: q.State, Limit: q.Limit, Offset: (q.Page - 1) * q.Limit})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	list := make([]eventObj, 0, len(evs))
	for _, e := range evs {
		list = append(list, eventJSON(e))
	}
	p := struct {
		Total    int64      `json:"total"`
		Previous int        `json:"previous"`
		Next     int        `json:"next"`
		List     []eventObj `json:"list"`
	}{Total: total, List: list}
	if q.Page > 1 {
		p.Previous = q.Page - 1
	}
	if int64(q.Page*q.Limit) < total {
		p.Next = q.Page + 1
	}
	iamport.WriteJSON(w, http.StatusOK, 0, "", p)
}

func (s *Service) resend(w http.ResponseWriter, r *http.Request, merchantID int64) {
	ev, err := s.Store.Read().WebhookEventByEventID(r.Context(), merchantID, r.PathValue("event_id"))
	if store.IsNotFound(err) {
		iamport.WriteJSON(w, http.StatusNotFound, -1, "존재하지 않는 웹훅입니다. (no such webhook event)", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out, att, err := s.Deliver(r.Context(), ev.ID, true)
	if err == ErrNotDue {
		iamport.WriteJSON(w, http.StatusConflict, -1, "웹훅이 지금 전송 중입니다. 잠시 후 다시 시도하세요. (the event is being sent right now)", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out.AttemptLog, err = s.Store.Read().WebhookAttempts(r.Context(), out.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	_ = att
	iamport.WriteJSON(w, http.StatusOK, 0, "", eventJSON(out))
}

func (s *Service) newSecret(w http.ResponseWriter, r *http.Request, merchantID int64) {
	secret, err := s.SetSecret(r.Context(), merchantID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	iamport.WriteJSON(w, http.StatusOK, 0, "", map[string]string{"secret": secret})
}

func (s *Service) deleteSecret(w http.ResponseWriter, r *http.Request, merchantID int64) {
	if err := s.RemoveSecret(r.Context(), merchantID); err != nil {
		s.internal(w, r, err)
		return
	}
	iamport.WriteJSON(w, http.StatusOK, 0, "", map[string]bool{"signing": false})
}
