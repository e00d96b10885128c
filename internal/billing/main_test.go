package billing_test

import (
	"os"
	"testing"

	"billkey/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
