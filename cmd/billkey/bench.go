package main

import (
	"os"

	"billkey/internal/bench"
)

// benchCmd is billkey bench: the load benchmark of the charge path (see
// docs/performance.md), and its child processes (bench serve, bench floor-server).
func benchCmd(args []string) error { return bench.Main(args, os.Stdout, os.Stderr) }
