package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"billkey/internal/vault"
)

func vaultCmd(args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		usage()
		return errors.New("vault: subcommand must be rotate")
	}
	fs := flag.NewFlagSet("vault rotate", flag.ExitOnError)
	a, _, err := openApp(fs, args[1:])
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Cfg.MasterKey != "" {
		// The keyring lives in the environment: the operator added a new
		// version (N:base64, comma separated) on every node; re-wrap to it.
		ring, err := vault.ParseKeyring(a.Cfg.MasterKey)
		if err != nil {
			return err
		}
		n, err := vault.Rewrap(context.Background(), a.Store, ring)
		if err != nil {
			return err
		}
		fmt.Printf("%d data keys re-wrapped to master key version %d from BILLKEY_MASTER_KEY\n", n, ring.Current())
		return nil
	}
	ring, _, err := vault.LoadOrCreateKeyFile(a.Cfg.MasterKeyFile)
	if err != nil {
		return err
	}
	next := vault.Keyring{}
	for k, v := range ring {
		next[k] = v
	}
	next[ring.Current()+1] = vault.NewKey()
	// Persist the new keyring before any data key depends on it.
	if err := vault.WriteKeyFile(a.Cfg.MasterKeyFile, next); err != nil {
		return err
	}
	n, err := vault.Rewrap(context.Background(), a.Store, next)
	if err != nil {
		return err
	}
	fmt.Printf("master key rotated to version %d; %d data keys re-wrapped (the older versions stay in %s until you remove them)\n", next.Current(), n, a.Cfg.MasterKeyFile)
	return nil
}
