package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"billkey/internal/accounts"
	"billkey/internal/app"
	"billkey/internal/store"
)

var storeMerchantNone store.Merchant

// openApp opens the same storage the server uses, without serving.
func openApp(fs *flag.FlagSet, args []string) (*app.App, []string, error) {
	var cfg app.Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	cfg.Mode = "live" // no emulators needed for admin commands
	a, err := app.New(context.Background(), cfg, app.NewLogger(cfg, io.Discard))
	return a, fs.Args(), err
}

type kvFlag map[string]string

func (k kvFlag) String() string { return "" }
func (k kvFlag) Set(v string) error {
	key, val, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want key=value")
	}
	k[key] = val
	return nil
}

func printJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func merchant(args []string) error {
	if len(args) == 0 {
		usage()
		return errors.New("merchant: subcommand required")
	}
	sub, args := args[0], args[1:]
	ctx := context.Background()
	fs := flag.NewFlagSet("merchant "+sub, flag.ExitOnError)
	switch sub {
	case "create":
		name := fs.String("name", "merchant", "merchant name")
		code := fs.String("code", "", "merchant code imp + 8 digits (default: random)")
		demo := fs.Bool("demo-channels", false, "add the demo test channels (kakaopay, payco, testpg on emulators)")
		a, _, err := openApp(fs, args)
		if err != nil {
			return err
		}
		defer a.Close()
		m, cred, err := a.Accounts.CreateMerchant(ctx, *name, *code)
		if err != nil {
			return err
		}
		if *demo {
			for _, spec := range app.DemoChannels {
				if _, err := a.Accounts.AddChannel(ctx, m.ID, spec); err != nil {
					return err
				}
			}
		}
		printJSON(cred)
		fmt.Fprintln(os.Stderr, "the secret is shown once; store it now")
		return nil
	case "list":
		a, _, err := openApp(fs, args)
		if err != nil {
			return err
		}
		defer a.Close()
		ms, err := a.Store.Read().ListMerchants(ctx)
		if err != nil {
			return err
		}
		type chOut struct {
			Provider, MID string
			Live, Default bool
		}
		type out struct {
			Code, Name, WebhookURL string
			ImpKeys                []string
			Channels               []chOut
		}
		var res []out
		for _, m := range ms {
			o := out{Code: m.Code, Name: m.Name, WebhookURL: m.WebhookURL}
			keys, _ := a.Store.Read().APIKeysOf(ctx, m.ID)
			for _, k := range keys {
				s := k.ImpKey
				if k.ExpiresAt != 0 {
					s += " (expires " + time.Unix(k.ExpiresAt, 0).UTC().Format(time.RFC3339) + ")"
				}
				o.ImpKeys = append(o.ImpKeys, s)
			}
			chans, _ := a.Store.Read().ChannelsOf(ctx, m.ID)
			for _, c := range chans {
				o.Channels = append(o.Channels, chOut{c.Provider, c.MID, c.Live, c.IsDefault})
			}
			res = append(res, o)
		}
		printJSON(res)
		return nil
	case "add-channel":
		code := fs.String("merchant", "", "merchant code")
		provider := fs.String("provider", "", "kakaopay, payco or testpg")
		mid := fs.String("mid", "", "MID / CID / seller key")
		live := fs.Bool("live", false, "live channel (talks to the real PG)")
		def := fs.Bool("default", false, "make it the merchant's default channel")
		base := fs.String("base-url", "", "PG base URL (live: the real service; test: default is the built-in emulator)")
		creds := kvFlag{}
		fs.Var(creds, "cred", "credential key=value (repeatable), e.g. secret_key=…")
		a, _, err := openApp(fs, args)
		if err != nil {
			return err
		}
		defer a.Close()
		m, err := a.Store.Read().MerchantByCode(ctx, *code)
		if err != nil {
			return fmt.Errorf("merchant %q: %w", *code, err)
		}
		if _, ok := a.PGs.Get(*provider); !ok {
			return fmt.Errorf("unknown provider %q (have %v)", *provider, a.PGs.Providers())
		}
		c, err := a.Accounts.AddChannel(ctx, m.ID, accounts.ChannelSpec{Provider: *provider, MID: *mid, Live: *live, Default: *def, BaseURL: *base, Credentials: creds})
		if err != nil {
			return err
		}
		fmt.Printf("added channel %s.%s (live=%v default=%v)\n", c.Provider, c.MID, c.Live, c.IsDefault)
		return nil
	case "rotate-secret":
		grace := fs.Duration("grace", 24*time.Hour, "how long the old key/secret pairs keep working")
		a, rest, err := openApp(fs, args)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(rest) != 1 {
			return errors.New("rotate-secret: give the merchant code")
		}
		cred, err := a.Accounts.RotateSecret(ctx, rest[0], *grace)
		if err != nil {
			return err
		}
		printJSON(cred)
		fmt.Fprintf(os.Stderr, "the secret is shown once; older pairs stop working in %s\n", *grace)
		return nil
	case "set-webhook":
		code := fs.String("merchant", "", "merchant code")
		url := fs.String("url", "", "webhook (notification) URL")
		ct := fs.String("content-type", "json", "json or form")
		a, _, err := openApp(fs, args)
		if err != nil {
			return err
		}
		defer a.Close()
		if *ct != "json" && *ct != "form" {
			return errors.New("content-type must be json or form")
		}
		m, err := a.Store.Read().MerchantByCode(ctx, *code)
		if err != nil {
			return err
		}
		return a.Store.Write(ctx, func(q store.Q) error { return q.SetMerchantWebhook(ctx, m.ID, *url, *ct) })
	}
	usage()
	return fmt.Errorf("merchant: unknown subcommand %q", sub)
}
