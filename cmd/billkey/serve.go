package main

import (
	"context"
	"flag"
	"net"
	"os"
	"os/signal"
	"syscall"

	"billkey/internal/app"
)

func serve(args []string) error {
	app.TuneRuntime()
	var cfg app.Config
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	cfg.RegisterFlags(fs)
	fs.Parse(args)
	log := app.NewLogger(cfg, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("billkey starting", a.Cfg.Describe()...)
	ln, err := net.Listen("tcp", a.Cfg.Addr)
	if err != nil {
		return err
	}
	if a.Cfg.Mode == "test" && a.Cfg.Demo {
		m, cred, err := a.EnsureDemo(ctx)
		if err != nil {
			return err
		}
		a.Banner(os.Stdout, m, cred)
	} else {
		a.Banner(os.Stdout, storeMerchantNone, nil)
	}
	return a.Serve(ctx, ln)
}
