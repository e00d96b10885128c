package bench

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"

	"billkey/internal/app"
)

// listener returns the listener handed over as file descriptor fd, or a new
// one on addr when fd is 0.
func listener(fd int, addr string) (net.Listener, error) {
	if fd == 0 {
		return net.Listen("tcp", addr)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	return net.FileListener(f)
}

// profiler turns a CPU profile on at SIGUSR1 and off (writing path, or the
// path written in path+".next") at SIGUSR2 or at exit, so the bench profiles
// each measured phase only.
type profiler struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (p *profiler) run() {
	if p.path == "" {
		return
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for sig := range ch {
			if sig == syscall.SIGUSR1 {
				p.start()
			} else {
				p.stop()
			}
		}
	}()
}

func (p *profiler) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		return
	}
	path := p.path
	if b, err := os.ReadFile(p.path + ".next"); err == nil && len(b) > 0 {
		path = string(b) // the bench names each measured phase's profile
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: cpuprofile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cpuprofile:", err)
		f.Close()
		return
	}
	p.f = f
}

func (p *profiler) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	p.f.Close()
	p.f = nil
}

// ServeBillkey is the child side of the bench (billkey bench serve): the same
// wiring as billkey serve (app.New, App.Serve) on a handed-over listener,
// with an optional CPU profile of the measured phase (-cpuprofile, toggled by
// SIGUSR1/SIGUSR2). No demo merchant; the bench makes its own.
func ServeBillkey(args []string) error {
	var cfg app.Config
	fs := flag.NewFlagSet("bench serve", flag.ExitOnError)
	cfg.RegisterFlags(fs)
	fd := fs.Int("listen-fd", 0, "serve on this inherited file descriptor instead of listening on -addr")
	prof := &profiler{}
	fs.StringVar(&prof.path, "cpuprofile", "", "write a CPU profile here between SIGUSR1 and SIGUSR2")
	fs.Parse(args)
	cfg.Demo = false
	log := app.NewLogger(cfg, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := listener(*fd, a.Cfg.Addr)
	if err != nil {
		return err
	}
	prof.run()
	defer prof.stop()
	log.Info("billkey (bench child) starting", a.Cfg.Describe()...)
	return a.Serve(ctx, ln)
}
