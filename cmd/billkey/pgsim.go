package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"billkey/internal/clock"
	simkakaopay "billkey/internal/pgsim/kakaopay"
	simpayco "billkey/internal/pgsim/payco"
	simtestpg "billkey/internal/pgsim/testpg"
)

// pgsim serves the PG emulators on their own, without billkey: point a
// test channel's base URL at http://ADDR/pgsim/{provider}.
func pgsim(args []string) error {
	fs := flag.NewFlagSet("pgsim", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	dir := fs.String("data-dir", "data-pgsim", "directory for the emulators' state")
	public := fs.String("public-url", "", "URL browsers reach the emulators at (default http://ADDR)")
	fs.Parse(args)
	if *public == "" {
		*public = "http://" + *addr
	}
	*public = strings.TrimRight(*public, "/")
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	clk := clock.System{}
	mux := http.NewServeMux()
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	kakao, err := simkakaopay.New(simkakaopay.Config{DBPath: filepath.Join(*dir, "pgsim-kakaopay.db"), Clock: clk, PublicURL: *public + "/pgsim/kakaopay"})
	if err != nil {
		return err
	}
	closers = append(closers, kakao)
	payco, err := simpayco.New(simpayco.Config{DBPath: filepath.Join(*dir, "pgsim-payco.db"), Clock: clk, PublicURL: *public + "/pgsim/payco", SellerKeys: []string{"*"}})
	if err != nil {
		return err
	}
	closers = append(closers, payco)
	tpg, err := simtestpg.New(simtestpg.Config{DBPath: filepath.Join(*dir, "pgsim-testpg.db"), Clock: clk, PublicURL: *public + "/pgsim/testpg"})
	if err != nil {
		return err
	}
	closers = append(closers, tpg)
	mux.Handle("/pgsim/kakaopay/", http.StripPrefix("/pgsim/kakaopay", kakao.Handler()))
	mux.Handle("/pgsim/payco/", http.StripPrefix("/pgsim/payco", payco.Handler()))
	mux.Handle("/pgsim/testpg/", http.StripPrefix("/pgsim/testpg", tpg.Handler()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("billkey PG emulators at %s/pgsim/{kakaopay,payco,testpg} (state in %s)\n", *public, *dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
