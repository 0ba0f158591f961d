package testkit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Package holds the services of one test package, made by Main.
type Package struct {
	DatabaseURL string
	Redis       *Redis
}

// Main creates a fresh database and a private Redis for the test package,
// runs its tests and removes both. Use it from TestMain:
//
//	var env *testkit.Package
//	func TestMain(m *testing.M) { testkit.Main(m, &env) }
func Main(m *testing.M, out **Package) {
	os.Exit(run(m, out))
}

func run(m *testing.M, out **Package) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, drop, err := CreateDatabase(ctx, "pkg")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testkit:", err)
		return 1
	}
	defer drop()
	r, err := StartRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testkit:", err)
		return 1
	}
	defer r.Close()
	*out = &Package{DatabaseURL: dsn, Redis: r}
	return m.Run()
}
