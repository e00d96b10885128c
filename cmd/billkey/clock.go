package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// clockCmd is `billkey clock advance DURATION [-url URL]` and `billkey clock
// now [-url URL]`: it moves (or reads) the test clock of a running billkey in
// test mode, through its loopback-only /billkey/clock endpoints. Every node
// on the same database follows within a second.
func clockCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("clock: advance DURATION | now")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("clock "+sub, flag.ExitOnError)
	base := fs.String("url", envOr("BILLKEY_URL", "http://127.0.0.1:8080"), "the running billkey (BILLKEY_URL)")
	// Accept the duration before or after the flags.
	var dur string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dur, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dur == "" && fs.NArg() > 0 {
		dur = fs.Arg(0)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var resp *http.Response
	var err error
	switch sub {
	case "now":
		resp, err = client.Get(strings.TrimRight(*base, "/") + "/billkey/clock")
	case "advance":
		if dur == "" {
			return errors.New("clock advance: a duration is required, e.g. 720h or 30d")
		}
		body, _ := json.Marshal(map[string]string{"duration": dur})
		resp, err = client.Post(strings.TrimRight(*base, "/")+"/billkey/clock/advance", "application/json", bytes.NewReader(body))
	default:
		return fmt.Errorf("clock: unknown subcommand %q", sub)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Code     int     `json:"code"`
		Message  *string `json:"message"`
		Response struct {
			Now    int64 `json:"now"`
			Offset int64 `json:"offset_seconds"`
		} `json:"response"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("clock: HTTP %d: %s (is billkey running in test mode?)", resp.StatusCode, raw)
	}
	if env.Code != 0 {
		msg := ""
		if env.Message != nil {
			msg = *env.Message
		}
		return fmt.Errorf("clock: HTTP %d: %s", resp.StatusCode, msg)
	}
	fmt.Fprintf(os.Stdout, "billkey clock: %s (offset %s)\n", time.Unix(env.Response.Now, 0).Format(time.RFC3339),
		time.Duration(env.Response.Offset)*time.Second)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
