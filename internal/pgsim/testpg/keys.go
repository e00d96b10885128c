package testpg

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// keyResp is the answer to a successful issuance.
type keyResp struct {
	BillingKey  string `json:"billing_key"`
	CustomerUID string `json:"customer_uid"`
	CardName    string `json:"card_name"`
	CardCode    string `json:"card_code"`
	CardNumber  string `json:"card_number"` // masked
	CardType    int    `json:"card_type"`   // 0 credit, 1 check
	IssuedAt    int64  `json:"issued_at"`
}

// keyInReq is POST /v1/keys.
type keyInReq struct {
	CardNumber  string `json:"card_number"`
	Expiry      string `json:"expiry"` // YYYY-MM (YYYYMM, MM/YY accepted)
	Birth       string `json:"birth"`
	Pwd2Digit   string `json:"pwd_2digit"`
	CVC         string `json:"cvc"`
	CustomerUID string `json:"customer_uid"`
}

func (s *Sim) handleIssueKey(w http.ResponseWriter, r *http.Request) {
	var req keyInReq
	if !decode(w, r, &req) {
		return
	}
	d, ok := cardDigits(req.CardNumber)
	if !ok {
		writeJSON(w, http.StatusPaymentRequired, apiError{Code: declineBadNumber.Code, Message: declineBadNumber.Message})
		return
	}
	if expiryPassed(req.Expiry, s.now()) {
		writeJSON(w, http.StatusPaymentRequired, apiError{Code: declineExpired.Code, Message: declineExpired.Message})
		return
	}
	s.issue(w, r.Context(), d, req.CustomerUID)
}

// issue issues a key for card digits d, or answers the card's issuance decline.
func (s *Sim) issue(w http.ResponseWriter, ctx context.Context, d, customerUID string) {
	c := cardBehaviour(behaviourID(d))
	if c.IssueDecline != nil {
		writeJSON(w, http.StatusPaymentRequired, apiError{Code: c.IssueDecline.Code, Message: c.IssueDecline.Message})
		return
	}
	key, resp, row := s.newKey(d, customerUID)
	if err := insertKey(ctx, s.db, row); err != nil {
		s.internal(w, "issue key", err)
		return
	}
	resp.BillingKey = key
	writeJSON(w, http.StatusOK, resp)
}

// newKey makes a key for card digits d: the secret, its answer and its row.
func (s *Sim) newKey(d, customerUID string) (string, keyResp, keyRow) {
	c := cardBehaviour(behaviourID(d))
	key := newBillingKey()
	now := s.now().Unix()
	row := keyRow{Hash: hashSecret(key), Card: behaviourID(d), CardNumber: maskCard(d), CustomerUID: customerUID,
		Status: "active", CreatedAt: now}
	return key, keyResp{BillingKey: key, CustomerUID: customerUID, CardName: c.Name, CardCode: c.Code,
		CardNumber: row.CardNumber, CardType: c.Type, IssuedAt: now}, row
}

// expiryPassed reports whether a YYYY-MM (or YYYYMM, MM/YY, YYMM) expiry is
// before t's month. Unparseable or empty expiries are accepted: this is a test PG.
func expiryPassed(exp string, t time.Time) bool {
	e := strings.NewReplacer("-", "", "/", "", " ", "").Replace(exp)
	var y, m int
	var err1, err2 error
	switch {
	case len(e) == 6: // YYYYMM
		y, err1 = strconv.Atoi(e[:4])
		m, err2 = strconv.Atoi(e[4:])
	case len(e) == 4 && strings.Contains(exp, "/"): // MM/YY
		m, err1 = strconv.Atoi(e[:2])
		y, err2 = strconv.Atoi(e[2:])
		y += 2000
	case len(e) == 4: // YYMM
		y, err1 = strconv.Atoi(e[:2])
		m, err2 = strconv.Atoi(e[2:])
		y += 2000
	default:
		return false
	}
	if err1 != nil || err2 != nil || m < 1 || m > 12 {
		return false
	}
	t = t.In(kst)
	return y*12+m < t.Year()*12+int(t.Month())
}

// kst is the test PG's time zone.
var kst = time.FixedZone("KST", 9*60*60)

// handleDeleteKey is DELETE /v1/keys/{key}: 200 (also when already deleted),
// 404 for a key the PG never issued.
func (s *Sim) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	hash := hashSecret(r.PathValue("key"))
	k, ok, err := getKey(r.Context(), s.db, hash)
	if err != nil {
		s.internal(w, "delete key", err)
		return
	}
	if !ok {
		writeErr(w, http.StatusNotFound, codeKeyNotFound, declineKeyUnknown.Message)
		return
	}
	now := s.now().Unix()
	if k.Status != "deleted" {
		if _, err := s.db.ExecContext(r.Context(), `UPDATE tp_keys SET status = 'deleted', deleted_at = ? WHERE key_hash = ? AND status = 'active'`,
			now, hash); err != nil {
			s.internal(w, "delete key", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "customer_uid": k.CustomerUID, "card_number": k.CardNumber})
}
