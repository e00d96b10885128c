package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawClient is a minimal HTTP/1.1 keep-alive client: one connection per
// concurrent request, requests written in one buffer, Content-Length and
// chunked responses. The load tool shares the machine with the server under
// test, so it should cost the server as little CPU as possible; net/http's
// client costs several times more per request. Requests are never retried.
type rawClient struct {
	addr string
	host string
	pool chan *rawConn
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	wb []byte
}

func newRawClient(base string, conns int) (*rawClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("bench: only http:// targets (%s)", base)
	}
	return &rawClient{addr: u.Host, host: u.Host, pool: make(chan *rawConn, conns)}, nil
}

func (rc *rawClient) conn(ctx context.Context) (*rawConn, error) {
	select {
	case c := <-rc.pool:
		return c, nil
	default:
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", rc.addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10), wb: make([]byte, 0, 1024)}, nil
}

func (rc *rawClient) put(c *rawConn) {
	select {
	case rc.pool <- c:
	default:
		c.c.Close()
	}
}

// do sends one request and returns the status and body.
func (rc *rawClient) do(ctx context.Context, method, path, auth string, body []byte) (int, []byte, error) {
	c, err := rc.conn(ctx)
	if err != nil {
		return 0, nil, err
	}
	status, resp, keep, err := c.roundTrip(rc.host, method, path, auth, body)
	if err != nil || !keep {
		c.c.Close()
	} else {
		rc.put(c)
	}
	return status, resp, err
}

func (rc *rawClient) close() {
	for {
		select {
		case c := <-rc.pool:
			c.c.Close()
		default:
			return
		}
	}
}

func (c *rawConn) roundTrip(host, method, path, auth string, body []byte) (status int, resp []byte, keep bool, err error) {
	w := c.wb[:0]
	w = append(w, method...)
	w = append(w, ' ')
	w = append(w, path...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, host...)
	w = append(w, "\r\nUser-Agent: billkey-bench\r\n"...)
	if auth != "" {
		w = append(w, "Authorization: "...)
		w = append(w, auth...)
		w = append(w, "\r\n"...)
	}
	if body != nil {
		w = append(w, "Content-Type: application/json\r\nContent-Length: "...)
		w = strconv.AppendInt(w, int64(len(body)), 10)
		w = append(w, "\r\n"...)
	}
	w = append(w, "\r\n"...)
	w = append(w, body...)
	c.wb = w
	c.c.SetDeadline(time.Now().Add(120 * time.Second))
	if _, err = c.c.Write(w); err != nil {
		return 0, nil, false, err
	}
	line, err := c.line()
	if err != nil {
		return 0, nil, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("bench: bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("bench: bad status line %q", line)
	}
	length, chunked := -1, false
	keep = true
	for {
		h, err := c.line()
		if err != nil {
			return 0, nil, false, err
		}
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "content-length"):
			length, err = strconv.Atoi(string(v))
			if err != nil {
				return 0, nil, false, fmt.Errorf("bench: bad content-length %q", v)
			}
		case asciiEqualFold(k, "transfer-encoding"):
			chunked = asciiEqualFold(v, "chunked")
		case asciiEqualFold(k, "connection"):
			keep = !asciiEqualFold(v, "close")
		}
	}
	switch {
	case chunked:
		var out []byte
		for {
			l, err := c.line()
			if err != nil {
				return 0, nil, false, err
			}
			if i := bytes.IndexByte(l, ';'); i >= 0 {
				l = l[:i]
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 64)
			if err != nil {
				return 0, nil, false, fmt.Errorf("bench: bad chunk size %q", l)
			}
			if n == 0 {
				for { // trailers
					t, err := c.line()
					if err != nil {
						return 0, nil, false, err
					}
					if len(t) == 0 {
						return status, out, keep, nil
					}
				}
			}
			start := len(out)
			out = append(out, make([]byte, n)...)
			if _, err := io.ReadFull(c.br, out[start:]); err != nil {
				return 0, nil, false, err
			}
			if _, err := c.line(); err != nil {
				return 0, nil, false, err
			}
		}
	case length >= 0:
		resp = make([]byte, length)
		_, err = io.ReadFull(c.br, resp)
		return status, resp, keep, err
	}
	return 0, nil, false, errors.New("bench: response without length")
}

// line reads a CRLF-terminated line without its terminator.
func (c *rawConn) line() ([]byte, error) {
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	l = bytes.TrimRight(l, "\r\n")
	return l, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
