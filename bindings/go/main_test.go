package multiproc

import (
	"os"
	"testing"
)

// TestMain makes the test binary a multiproc program: the children that
// tests start are new executions of it, which Main dispatches.
func TestMain(m *testing.M) {
	registerTestTargets()
	registerForkserverTargets()
	registerRingTargets()
	if os.Getenv(noMainEnv) != "" { // TestWithoutMainTheErrorNamesGo
		runWithoutMain()
		os.Exit(0)
	}
	Main()
	os.Exit(m.Run())
}
