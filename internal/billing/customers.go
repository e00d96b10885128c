package billing

import (
	"context"
	"regexp"

	"billkey/internal/pg"
	"billkey/internal/store"
)

// Customer returns a merchant's billing key record.
func (s *Service) Customer(ctx context.Context, merchantID int64, uid string) (store.Customer, error) {
	c, err := s.Store.Read().Customer(ctx, merchantID, uid)
	if store.IsNotFound(err) {
		return c, notFound(MsgCustomerNotFound(uid))
	}
	return c, err
}

// Customers returns those of uids the merchant has, in the order asked.
func (s *Service) Customers(ctx context.Context, merchantID int64, uids []string) ([]store.Customer, error) {
	cs, err := s.Store.Read().Customers(ctx, merchantID, uids)
	if err != nil {
		return nil, err
	}
	by := map[string]store.Customer{}
	for _, c := range cs {
		by[c.CustomerUID] = c
	}
	var out []store.Customer
	seen := map[string]bool{}
	for _, u := range uids {
		if c, ok := by[u]; ok && !seen[u] {
			out = append(out, c)
			seen[u] = true
		}
	}
	return out, nil
}

// DeleteCustomer deactivates the key at the PG, then forgets it. The PG goes
// first (with no transaction held) so a failure there leaves the key usable
// rather than orphaned at the PG.
func (s *Service) DeleteCustomer(ctx context.Context, merchantID int64, uid string) (store.Customer, error) {
	c, err := s.Customer(ctx, merchantID, uid)
	if err != nil {
		return c, err
	}
	ch, err := s.channelByID(ctx, merchantID, c.ChannelID)
	if err != nil {
		return c, err
	}
	key, err := s.Vault.Open(ctx, merchantID, "billing-key", c.BillingKeyEnc)
	if err != nil {
		return c, err
	}
	pctx, cancel := s.pgCtx(ctx)
	err = ch.Connector.DeleteKey(pctx, ch.PG, string(key))
	cancel()
	if err != nil {
		return c, &Error{Kind: KindPG, Message: "PG사에서 빌링키 삭제에 실패했습니다. " + pgErrorMessage(err), Err: err}
	}
	var out store.Customer
	s.forgetCustomer(merchantID, uid)
	defer s.forgetCustomer(merchantID, uid)
	err = s.Store.Write(context.WithoutCancel(ctx), func(q store.Q) error {
		var err error
		out, err = q.DeleteCustomer(ctx, merchantID, uid)
		if err != nil {
			return err
		}
		if s.OnCustomerDeleted != nil {
			return s.OnCustomerDeleted(ctx, q, merchantID, uid)
		}
		return nil
	})
	if store.IsNotFound(err) {
		return c, notFound(MsgCustomerNotFound(uid))
	}
	return out, err
}

// KeyInInput is card data for API issuance (POST /subscribe/customers/{uid}).
type KeyInInput struct {
	CustomerUID      string
	PG               string
	CardNumber       string
	Expiry           string
	Birth            string
	Pwd2Digit        string
	CVC              string
	CustomerID       string
	CustomerName     string
	CustomerTel      string
	CustomerEmail    string
	CustomerAddr     string
	CustomerPostcode string
}

var (
	cardNumberRe = regexp.MustCompile(`^\d{4}-?\d{4}-?\d{4}-?\d{2,7}$`)
	expiryRe     = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)
)

// IssueKeyIn issues a billing key from card data, where the channel's PG can.
func (s *Service) IssueKeyIn(ctx context.Context, merchantID int64, in KeyInInput) (store.Customer, error) {
	if in.CustomerUID == "" {
		return store.Customer{}, invalid("customer_uid 파라메터가 누락되었습니다. (customer_uid is required)")
	}
	if err := checkLen("customer_uid", in.CustomerUID, 80); err != nil {
		return store.Customer{}, err
	}
	ch, err := s.ResolveChannel(ctx, merchantID, in.PG)
	if err != nil {
		return store.Customer{}, err
	}
	kc, ok := ch.Connector.(pg.KeyInConnector)
	if !ok || !ch.Connector.SupportsKeyIn() {
		return store.Customer{}, refused("%s는 카드정보(API)로 빌링키를 발급할 수 없습니다. 결제창(IMP.request_pay)으로 발급하세요. (%s issues billing keys only through its payment window)", ch.Row.Provider, ch.Row.Provider)
	}
	if !cardNumberRe.MatchString(in.CardNumber) {
		return store.Customer{}, invalid("card_number 형식이 올바르지 않습니다. (card_number must be dddd-dddd-dddd-dddd)")
	}
	if !expiryRe.MatchString(in.Expiry) {
		return store.Customer{}, invalid("expiry 형식이 올바르지 않습니다. (expiry must be YYYY-MM)")
	}
	pctx, cancel := s.pgCtx(ctx)
	res, err := kc.IssueKeyIn(pctx, ch.PG, pg.KeyInRequest{CustomerUID: in.CustomerUID, CardNumber: in.CardNumber,
		Expiry: in.Expiry, Birth: in.Birth, Pwd2Digit: in.Pwd2Digit, CVC: in.CVC})
	cancel()
	if err != nil {
		return store.Customer{}, &Error{Kind: KindPG, Message: "카드정보 인증 및 빌키 발급에 실패하였습니다. " + pgErrorMessage(err), Err: err}
	}
	if res.Status != pg.StatusPaid {
		return store.Customer{}, &Error{Kind: KindPG, Message: "카드정보 인증 및 빌키 발급에 실패하였습니다. " + res.FailReason}
	}
	return s.storeKey(ctx, merchantID, ch, in.CustomerUID, res, customerInfo{
		ID: in.CustomerID, Name: in.CustomerName, Tel: in.CustomerTel, Email: in.CustomerEmail, Addr: in.CustomerAddr, Postcode: in.CustomerPostcode,
	})
}

type customerInfo struct{ ID, Name, Tel, Email, Addr, Postcode string }

// storeKey seals and stores an issued key under customer_uid, replacing the
// one a reused customer_uid had.
func (s *Service) storeKey(ctx context.Context, merchantID int64, ch ResolvedChannel, uid string, res pg.IssueResult, ci customerInfo) (store.Customer, error) {
	enc, err := s.Vault.Seal(ctx, merchantID, "billing-key", []byte(res.BillingKey))
	if err != nil {
		return store.Customer{}, err
	}
	now := s.now()
	var out store.Customer
	s.forgetCustomer(merchantID, uid)
	defer s.forgetCustomer(merchantID, uid)
	err = s.Store.Write(context.WithoutCancel(ctx), func(q store.Q) error {
		var err error
		out, err = q.UpsertCustomer(ctx, store.Customer{MerchantID: merchantID, CustomerUID: uid, ChannelID: ch.Row.ID,
			PGProvider: ch.Row.Provider, PGID: ch.Row.MID, Sandbox: !ch.Row.Live, BillingKeyEnc: enc, PayMethod: or(res.PayMethod, "card"),
			CardName: res.Card.Name, CardCode: res.Card.Code, CardNumber: res.Card.Number, CardType: cardType(res.Card.Type),
			CustomerID: ci.ID, CustomerName: ci.Name, CustomerTel: ci.Tel, CustomerEmail: ci.Email, CustomerAddr: ci.Addr,
			CustomerPostcode: ci.Postcode, Inserted: now})
		return err
	})
	return out, err
}

// Onetime is POST /subscribe/payments/onetime: a key-in charge that also
// stores the card as a billing key when customer_uid is given. PGs that
// issue keys only through their window (kakaopay, payco) refuse it.
func (s *Service) Onetime(ctx context.Context, merchantID int64, k KeyInInput, in ChargeInput) (store.Payment, error) {
	uid := in.CustomerUID
	if uid == "" {
		in.CustomerUID = "-" // validate the rest; onetime needs no customer_uid
	}
	if err := in.validate(); err != nil {
		return store.Payment{}, err
	}
	in.CustomerUID = uid
	ch, err := s.ResolveChannel(ctx, merchantID, k.PG)
	if err != nil {
		return store.Payment{}, err
	}
	kc, ok := ch.Connector.(pg.KeyInConnector)
	if !ok || !ch.Connector.SupportsKeyIn() {
		return store.Payment{}, refused("%s는 카드정보(API)로 결제할 수 없습니다. 결제창(IMP.request_pay)으로 빌링키를 발급한 뒤 again으로 결제하세요. (%s supports no key-in payments)", ch.Row.Provider, ch.Row.Provider)
	}
	if !cardNumberRe.MatchString(k.CardNumber) {
		return store.Payment{}, invalid("card_number 형식이 올바르지 않습니다. (card_number must be dddd-dddd-dddd-dddd)")
	}
	if !expiryRe.MatchString(k.Expiry) {
		return store.Payment{}, invalid("expiry 형식이 올바르지 않습니다. (expiry must be YYYY-MM)")
	}
	pctx, cancel := s.pgCtx(ctx)
	res, err := kc.IssueKeyIn(pctx, ch.PG, pg.KeyInRequest{CustomerUID: uid, CardNumber: k.CardNumber, Expiry: k.Expiry,
		Birth: k.Birth, Pwd2Digit: k.Pwd2Digit, CVC: k.CVC})
	cancel()
	if err != nil {
		return store.Payment{}, &Error{Kind: KindPG, Message: "카드정보 인증에 실패하였습니다. " + pgErrorMessage(err), Err: err}
	}
	if res.Status != pg.StatusPaid {
		return store.Payment{}, &Error{Kind: KindPG, Message: "카드정보 인증에 실패하였습니다. " + res.FailReason}
	}
	cust := store.Customer{PayMethod: or(res.PayMethod, "card"), CardName: res.Card.Name, CardCode: res.Card.Code,
		CardNumber: res.Card.Number, CardType: cardType(res.Card.Type)}
	if uid != "" {
		if cust, err = s.storeKey(ctx, merchantID, ch, uid, res, customerInfo{ID: k.CustomerID, Name: k.CustomerName,
			Tel: k.CustomerTel, Email: k.CustomerEmail, Addr: k.CustomerAddr, Postcode: k.CustomerPostcode}); err != nil {
			return store.Payment{}, err
		}
	}
	return s.chargeKey(ctx, merchantID, ch, res.BillingKey, cust, in)
}
