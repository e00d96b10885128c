package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"billkey/internal/billing"
	"billkey/internal/clock"
	"billkey/internal/iamport"
	"billkey/internal/iamport/decode"
	"billkey/internal/jobs"
	"billkey/internal/schedule"
	"billkey/internal/store"
	"billkey/internal/webhook"
)

// ClockOffsetKey is the meta key holding the test clock's offset (seconds),
// shared by every node on the database.
const ClockOffsetKey = "clock_offset_seconds"

// background holds the scheduler, the webhook outbox and their River runner.
type background struct {
	Schedules *schedule.Service
	Webhooks  *webhook.Service
}

// events fans a payment change out to the scheduler and the webhook outbox,
// inside the transaction that commits it.
type events struct {
	schedules *schedule.Service
	webhooks  *webhook.Service
}

func (e events) PaymentChanged(ctx context.Context, q store.Q, p store.Payment, reason string) error {
	if err := e.schedules.OnPayment(ctx, q, p, reason); err != nil {
		return err
	}
	return e.webhooks.PaymentChanged(ctx, q, p, reason)
}

var _ billing.Events = events{}

// wireBackground builds the scheduler and the webhook outbox, hooks them into
// billing and registers their routes on the API (and, in test mode, the clock).
func (a *App) wireBackground(api *iamport.Server) {
	maxAttempts, _ := strconv.Atoi(os.Getenv("BILLKEY_WEBHOOK_MAX_ATTEMPTS"))
	maxBackoff, _ := time.ParseDuration(os.Getenv("BILLKEY_WEBHOOK_MAX_BACKOFF"))
	wh := webhook.New(webhook.Service{Store: a.Store, Vault: a.Vault, Clock: a.Clock, Log: a.Log,
		MaxAttempts: maxAttempts, MaxBackoff: maxBackoff})
	sc := schedule.New(schedule.Service{Store: a.Store, Billing: a.Billing, Clock: a.Clock, Log: a.Log})
	a.bg = &background{Schedules: sc, Webhooks: wh}
	a.Billing.Events = events{schedules: sc, webhooks: wh}
	a.Billing.OnCustomerDeleted = sc.OnCustomerDeleted
	api.Extra = append(api.Extra, sc.Routes, wh.Routes)
	if tc, ok := a.Clock.(*clock.Test); ok {
		a.Mux.Handle("GET /billkey/clock", loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.syncClock(r.Context())
			iamport.WriteJSON(w, http.StatusOK, 0, "", clockObj(tc))
		})))
		a.Mux.Handle("POST /billkey/clock/advance", loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.advanceClock(w, r, tc)
		})))
	}
}

// loopbackOnly refuses requests that do not come from this machine.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			iamport.WriteJSON(w, http.StatusForbidden, -1, "test clock: loopback only", nil)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func clockObj(tc *clock.Test) map[string]int64 {
	return map[string]int64{"now": tc.Now().Unix(), "offset_seconds": int64(tc.Offset() / time.Second)}
}

type advanceReq struct {
	Seconds  int64  `json:"seconds"`
	Duration string `json:"duration"`
}

// POST /billkey/clock/advance {"seconds":N} or {"duration":"720h"}: test mode, loopback only.
func (a *App) advanceClock(w http.ResponseWriter, r *http.Request, tc *clock.Test) {
	var req advanceReq
	if err := decode.Body(r, &req); err != nil {
		iamport.WriteJSON(w, http.StatusBadRequest, -1, err.Error(), nil)
		return
	}
	secs := req.Seconds
	if req.Duration != "" {
		d, err := parseDuration(req.Duration)
		if err != nil {
			iamport.WriteJSON(w, http.StatusBadRequest, -1, "duration: "+err.Error(), nil)
			return
		}
		secs += int64(d / time.Second)
	}
	if secs <= 0 || secs > 100*365*24*3600 {
		iamport.WriteJSON(w, http.StatusBadRequest, -1, "the clock only moves forward: seconds must be positive", nil)
		return
	}
	var off int64
	err := a.Store.Write(r.Context(), func(q store.Q) error {
		if _, err := q.InsertMetaIfAbsent(r.Context(), ClockOffsetKey, strconv.FormatInt(int64(tc.Offset()/time.Second), 10)); err != nil {
			return err
		}
		v, err := q.Meta(r.Context(), ClockOffsetKey)
		if err != nil {
			return err
		}
		cur, _ := strconv.ParseInt(v, 10, 64)
		off = max(cur, int64(tc.Offset()/time.Second)) + secs
		_, err = q.Exec(r.Context(), `UPDATE meta SET v = $1 WHERE k = $2 AND v = $3`, strconv.FormatInt(off, 10), ClockOffsetKey, v)
		return err
	})
	if err != nil {
		a.Log.Error("clock advance", "err", err)
		iamport.WriteJSON(w, http.StatusInternalServerError, -1, "internal error", nil)
		return
	}
	a.syncClock(r.Context())
	a.Log.Info("test clock advanced", "seconds", secs, "offset_seconds", off, "now", tc.Now().Format(time.RFC3339))
	iamport.WriteJSON(w, http.StatusOK, 0, "", clockObj(tc))
}

// parseDuration accepts Go durations and a days suffix ("30d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, errors.New("bad duration " + strconv.Quote(s))
		}
		return time.Duration(days * 24 * float64(time.Hour)), nil
	}
	return time.ParseDuration(s)
}

// syncClock picks up the offset another node persisted (test mode).
func (a *App) syncClock(ctx context.Context) {
	tc, ok := a.Clock.(*clock.Test)
	if !ok {
		return
	}
	v, err := a.Store.Read().Meta(ctx, ClockOffsetKey)
	if err != nil {
		return
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		tc.SetOffset(time.Duration(n) * time.Second)
	}
}

// startBackground starts River (schedules, webhooks) and, in test mode, the
// shared-clock poller. The returned function stops them.
func (a *App) startBackground(ctx context.Context) (func(), error) {
	if a.bg == nil {
		return func() {}, nil
	}
	url := ""
	if a.Store.Engine() == store.Postgres {
		url = a.Cfg.DatabaseTarget()
	}
	r, err := jobs.Start(ctx, jobs.Config{Store: a.Store, DatabaseURL: url, Schedules: a.bg.Schedules, Webhooks: a.bg.Webhooks,
		Clock: a.Clock, Log: a.Log, BeforeSweep: a.syncClock, ScheduleTimeout: 2*a.Cfg.PGTimeout + time.Minute})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, ok := a.Clock.(*clock.Test); !ok {
			return
		}
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				a.syncClock(pctx)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
			sctx, c2 := context.WithTimeout(context.Background(), 30*time.Second)
			defer c2()
			if err := r.Stop(sctx); err != nil {
				a.Log.Warn("stopping background jobs", "err", err)
			}
		})
	}, nil
}
