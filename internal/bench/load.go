package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one measured run of a request function.
type loadResult struct {
	lat     []time.Duration // of the requests that completed (ok or not)
	errors  int
	samples []string // a few error messages
	elapsed time.Duration
}

// runLoad calls do(i) for i in [0, n) from c workers, until all are done or
// maxTime has passed (then no new request starts; the ones in flight finish).
func runLoad(ctx context.Context, n, c int, maxTime time.Duration, do func(ctx context.Context, i int) error) loadResult {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var nerr atomic.Int64
	var mu sync.Mutex
	var samples []string
	deadline := time.Now().Add(maxTime)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || time.Now().After(deadline) {
					return
				}
				s := time.Now()
				err := do(ctx, i)
				d := time.Since(s)
				if d <= 0 {
					d = 1
				}
				lat[i] = d
				if err != nil {
					nerr.Add(1)
					mu.Lock()
					if len(samples) < 5 {
						samples = append(samples, err.Error())
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(t0), errors: int(nerr.Load()), samples: samples}
	for _, d := range lat {
		if d > 0 {
			r.lat = append(r.lat, d)
		}
	}
	slices.Sort(r.lat)
	return r
}

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// client talks to billkey (or the floor) the way i'mport clients do.
type client struct {
	base  string
	raw   *rawClient
	token string
}

func newClient(base string, conns int) *client {
	raw, err := newRawClient(base, conns+16)
	if err != nil {
		panic(err) // base comes from the bench itself or passed checkLoopback
	}
	return &client{base: strings.TrimRight(base, "/"), raw: raw}
}

// apiResp is the i'mport envelope with the response fields the bench checks.
type apiResp struct {
	Code     int     `json:"code"`
	Message  *string `json:"message"`
	Response *struct {
		ImpUID      string `json:"imp_uid"`
		Status      string `json:"status"`
		AccessToken string `json:"access_token"`
	} `json:"response"`
}

var okPrefix = []byte(`{"code":0,`)

// jsonStr finds the first "key":"value" in raw (values without escapes).
func jsonStr(raw []byte, key string) string {
	k := `"` + key + `":"`
	i := bytes.Index(raw, []byte(k))
	if i < 0 {
		return ""
	}
	rest := raw[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return ""
	}
	return string(rest[:j])
}

// do sends one request and reads the envelope; an error for a transport
// failure, a non-200 status or code ≠ 0. A successful envelope is read by a
// scan for the few fields the bench checks (a full decode of every payment
// would cost the shared CPUs more than the server's own JSON encoding).
func (c *client) do(ctx context.Context, method, path string, body []byte) (apiResp, error) {
	status, raw, err := c.raw.do(ctx, method, path, c.token, body)
	if err != nil {
		return apiResp{}, err
	}
	var out apiResp
	if status == 200 && bytes.HasPrefix(raw, okPrefix) {
		out.Response = &struct {
			ImpUID      string `json:"imp_uid"`
			Status      string `json:"status"`
			AccessToken string `json:"access_token"`
		}{ImpUID: jsonStr(raw, "imp_uid"), Status: jsonStr(raw, "status"), AccessToken: jsonStr(raw, "access_token")}
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("HTTP %d: %s", status, trunc(raw))
	}
	if status != 200 || out.Code != 0 {
		return out, fmt.Errorf("HTTP %d code %d: %s", status, out.Code, trunc(raw))
	}
	return out, nil
}

func trunc(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// getToken signs in and keeps the token for later requests.
func (c *client) getToken(ctx context.Context, key, secret string) error {
	body, _ := json.Marshal(map[string]string{"imp_key": key, "imp_secret": secret})
	r, err := c.do(ctx, "POST", "/users/getToken", body)
	if err != nil {
		return fmt.Errorf("getToken: %w", err)
	}
	if r.Response == nil || r.Response.AccessToken == "" {
		return errors.New("getToken: no access_token")
	}
	c.token = r.Response.AccessToken
	return nil
}

// checkLoopback refuses a target that is not on this machine's loopback.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("bench: %s is not a loopback address; the bench only drives a billkey on this machine", raw)
}

// sampler polls billkey's /metrics for go_goroutines and process_open_fds
// while a run is measured, keeping the maxima.
type sampler struct {
	maxG, maxFD float64
	stop        chan struct{}
	done        chan struct{}
}

func startSampler(base string) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	cl := &http.Client{Timeout: 2 * time.Second}
	go func() {
		defer close(s.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if resp, err := cl.Get(base + "/metrics"); err == nil {
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 64<<10), 1<<20)
				for sc.Scan() {
					line := sc.Text()
					for name, dst := range map[string]*float64{"go_goroutines ": &s.maxG, "process_open_fds ": &s.maxFD} {
						if v, ok := strings.CutPrefix(line, name); ok {
							if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f > *dst {
								*dst = f
							}
						}
					}
				}
				resp.Body.Close()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) finish() (goroutines, fds float64) {
	close(s.stop)
	<-s.done
	return s.maxG, s.maxFD
}
