package bench

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite", the one billkey's store uses
)

// The floor program: the least a durable charge can cost. Per request it
// parses the JSON body, opens the customer's billing key with AES-256-GCM,
// commits the payment as in flight, makes one loopback HTTP call to the PG
// stub, commits the outcome and answers. Both commits are durable on SQLite
// (WAL, synchronous=FULL, one writer connection), and concurrent commits are
// batched into one transaction and one fsync by one writer goroutine, as
// billkey's store does (internal/store/groupcommit.go) — minus billkey's
// per-call savepoints, which the floor does not need because its writes
// cannot fail one by one.

const floorMaxBatch = 256

type floorWrite struct {
	fn   func(*sql.Tx) error
	done chan error
}

type floorDB struct {
	db   *sql.DB
	reqs chan *floorWrite
}

func openFloorDB(path string) (*floorDB, error) {
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)"
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS payments (
		id INTEGER PRIMARY KEY,
		imp_uid TEXT NOT NULL UNIQUE,
		merchant_uid TEXT NOT NULL UNIQUE,
		customer_uid TEXT NOT NULL,
		amount BIGINT NOT NULL,
		status TEXT NOT NULL,
		pg_tid TEXT,
		started_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	f := &floorDB{db: db, reqs: make(chan *floorWrite, floorMaxBatch)}
	go f.run()
	return f, nil
}

func (f *floorDB) write(fn func(*sql.Tx) error) error {
	w := &floorWrite{fn: fn, done: make(chan error, 1)}
	f.reqs <- w
	return <-w.done
}

func (f *floorDB) run() {
	batch := make([]*floorWrite, 0, floorMaxBatch)
	for w := range f.reqs {
		batch = append(batch[:0], w)
	fill:
		for len(batch) < floorMaxBatch {
			select {
			case w := <-f.reqs:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		errs := make([]error, len(batch))
		tx, err := f.db.Begin()
		if err == nil {
			for i, w := range batch {
				errs[i] = w.fn(tx)
			}
			err = tx.Commit()
		}
		for i, w := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
			w.done <- errs[i]
		}
	}
}

type floorServer struct {
	db      *floorDB
	aead    cipher.AEAD
	keys    map[string][]byte // customer_uid → nonce ‖ sealed billing key
	token   string
	pgURL   string
	pg      *http.Client
	insertQ string
	settleQ string
}

type floorReq struct {
	CustomerUID string `json:"customer_uid"`
	MerchantUID string `json:"merchant_uid"`
	Amount      int64  `json:"amount"`
	Name        string `json:"name"`
}

func (s *floorServer) fail(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]any{"code": -1, "message": msg, "response": nil})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func (s *floorServer) again(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != s.token {
		s.fail(w, 401, "unauthorized")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req floorReq
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.MerchantUID == "" || req.Amount <= 0 {
		s.fail(w, 400, "bad request")
		return
	}
	sealed, ok := s.keys[req.CustomerUID]
	if !ok {
		s.fail(w, 200, "unknown customer")
		return
	}
	ns := s.aead.NonceSize()
	key, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte("billing-key"))
	if err != nil {
		s.fail(w, 500, "key")
		return
	}
	impUID := fmt.Sprintf("imp_%012d", mrand.Int64N(1_000_000_000_000))
	now := time.Now().Unix()
	var id int64
	err = s.db.write(func(tx *sql.Tx) error {
		return tx.QueryRow(s.insertQ, impUID, req.MerchantUID, req.CustomerUID, req.Amount, now).Scan(&id)
	})
	if err != nil {
		s.fail(w, 200, "insert: "+err.Error())
		return
	}
	pgBody, _ := json.Marshal(map[string]any{"billing_key": string(key), "order_id": impUID, "amount": req.Amount, "tax_free": 0, "name": req.Name})
	preq, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), "POST", s.pgURL+"/v1/charges", bytes.NewReader(pgBody))
	preq.Header.Set("Authorization", "TestPG test")
	preq.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.pg.Do(preq)
	var pres struct {
		TID    string `json:"tid"`
		Status string `json:"status"`
	}
	if err == nil {
		var raw []byte
		raw, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err == nil {
			err = json.Unmarshal(raw, &pres)
		}
		if err == nil && (resp.StatusCode != 200 || pres.Status != "paid") {
			err = errors.New("PG: HTTP " + strconv.Itoa(resp.StatusCode))
		}
	}
	status := "paid"
	if err != nil {
		status = "failed"
	}
	err = s.db.write(func(tx *sql.Tx) error {
		_, err := tx.Exec(s.settleQ, status, pres.TID, time.Now().Unix(), id)
		return err
	})
	if err != nil {
		s.fail(w, 200, "settle: "+err.Error())
		return
	}
	out, _ := json.Marshal(map[string]any{"code": 0, "message": nil, "response": map[string]any{
		"imp_uid": impUID, "merchant_uid": req.MerchantUID, "customer_uid": req.CustomerUID, "amount": req.Amount,
		"status": status, "pg_tid": pres.TID, "paid_at": now}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(out)
}

// FloorToken is the access token the floor server accepts.
const FloorToken = "floor-bench-token"

// ServeFloor is the floor program's server (billkey bench floor-server).
func ServeFloor(args []string) error {
	fs := flag.NewFlagSet("bench floor-server", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	fd := fs.Int("listen-fd", 0, "serve on this inherited file descriptor")
	dir := fs.String("data-dir", "", "directory for the floor's SQLite database (required)")
	pgURL := fs.String("pg", "", "PG stub base URL (required)")
	customers := fs.Int("customers", 100, "customers bench-0 … bench-(N-1)")
	prof := &profiler{}
	fs.StringVar(&prof.path, "cpuprofile", "", "write a CPU profile here between SIGUSR1 and SIGUSR2")
	fs.Parse(args)
	if *dir == "" || *pgURL == "" {
		return errors.New("floor-server: -data-dir and -pg are required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	db, err := openFloorDB(filepath.Join(*dir, "floor.db"))
	if err != nil {
		return err
	}
	dk := make([]byte, 32)
	rand.Read(dk)
	blk, _ := aes.NewCipher(dk)
	aead, _ := cipher.NewGCM(blk)
	keys := make(map[string][]byte, *customers)
	for i := 0; i < *customers; i++ {
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		keys[customerUID(i)] = aead.Seal(nonce, nonce, []byte(randID("tpk_", 12)), []byte("billing-key"))
	}
	s := &floorServer{db: db, aead: aead, keys: keys, token: FloorToken, pgURL: *pgURL,
		pg: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConns: 512, MaxIdleConnsPerHost: 512,
			IdleConnTimeout: 90 * time.Second, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}},
		insertQ: `INSERT INTO payments (imp_uid, merchant_uid, customer_uid, amount, status, started_at, updated_at)
			VALUES (?1, ?2, ?3, ?4, 'ready', ?5, ?5) RETURNING id`,
		settleQ: `UPDATE payments SET status = ?1, pg_tid = ?2, updated_at = ?3 WHERE id = ?4`,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subscribe/payments/again", s.again)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	ln, err := listener(*fd, *addr)
	if err != nil {
		return err
	}
	prof.run()
	defer prof.stop()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func customerUID(i int) string { return "bench-" + strconv.Itoa(i) }
