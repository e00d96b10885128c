package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestWALRestartsUnderSteadyReads: with readers always busy, SQLite's own
// checkpoints cannot start the WAL over; the group writer's restart keeps
// it near walRestartSize.
func TestWALRestartsUnderSteadyReads(t *testing.T) {
	oldEvery, oldSize := walCheckEvery, walRestartSize
	walCheckEvery, walRestartSize = 8, 256<<10
	defer func() { walCheckEvery, walRestartSize = oldEvery, oldSize }()

	path := filepath.Join(t.TempDir(), "billkey.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load() && n < 1_000_000; n++ {
				s.Read().Meta(ctx, "k0")
			}
		}()
	}
	var peak int64
	pad := string(make([]byte, 20000))
	for i := 0; i < 600; i++ {
		if err := s.Write(ctx, func(q Q) error {
			_, err := q.InsertMetaIfAbsent(ctx, "k"+strconv.Itoa(i), pad)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > peak {
			peak = st.Size()
		}
	}
	stop.Store(true)
	wg.Wait()
	// 600 commits of about 5 pages each are ~12 MB of WAL frames; restarted
	// every 256 KiB (looked at every 8 commits), the file never nears that.
	if limit := int64(2 << 20); peak > limit {
		t.Fatalf("WAL grew to %d bytes (limit %d)", peak, limit)
	}
	t.Logf("WAL peak %d bytes", peak)
}
