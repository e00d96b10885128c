// Command billkey is a self-hosted payment gateway that speaks the i'mport
// (PortOne V1) API for billing-key (subscription) payments.
//
//	billkey [serve]                 serve the API (default: 127.0.0.1:8080, SQLite in ./data, test mode)
//	billkey merchant create|list|add-channel|rotate-secret|set-webhook
//	billkey vault rotate            rotate the master key, re-wrapping the data keys
//	billkey clock advance 720h      move a running test-mode billkey's clock
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "merchant":
		err = merchant(args)
	case "vault":
		err = vaultCmd(args)
	case "pgsim":
		err = pgsim(args)
	case "clock":
		err = clockCmd(args)
	case "bench":
		err = benchCmd(args)
	case "help", "-h", "--help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "billkey: unknown command %q\n", cmd)
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "billkey:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  billkey [serve] [flags]                     serve the i'mport V1 API (see: billkey serve -h)
  billkey merchant create [-name N] [-code impNNNNNNNN] [-demo-channels]
  billkey merchant list
  billkey merchant add-channel -merchant impNNNNNNNN -provider kakaopay|payco|testpg -mid MID [-live] [-default] [-base-url URL] [-cred k=v ...]
  billkey merchant rotate-secret [-grace 24h] impNNNNNNNN
  billkey merchant set-webhook -merchant impNNNNNNNN -url URL [-content-type json|form]
  billkey vault rotate                        new master key version; data keys re-wrapped
  billkey pgsim [-addr 127.0.0.1:8090] [-data-dir D]  the PG emulators on their own
  billkey clock advance 720h|30d [-url http://127.0.0.1:8080]   move a running test-mode billkey's clock (now: show it)
  billkey bench [-scenario again|get|token|floor] [-n 20000] [-c 64] [-engine sqlite|postgres] [-stored 1M] [-pg-delay 300ms]   load benchmark (docs/performance.md)
Every command takes the same storage flags as serve (-data-dir, -database-url) and BILLKEY_* variables.
`)
}
