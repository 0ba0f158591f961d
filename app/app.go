package app

import (
	"fmt"
	"sort"
)

// App is the set of modules a binary contains. It decides nothing by itself:
// Plan picks the enabled ones from modules.yaml, Build assembles a process.
type App struct {
	known map[string]Module
	names []string // sorted
	err   error
}

// New returns an App over modules. Invalid or duplicate modules are reported
// by Plan, so that the error reaches the operator as a start-up refusal.
func New(modules ...Module) *App {
	a := &App{known: map[string]Module{}}
	for _, m := range modules {
		if err := m.check(); err != nil && a.err == nil {
			a.err = err
		}
		if _, dup := a.known[m.Name]; dup && a.err == nil {
			a.err = fmt.Errorf("two modules are named %q", m.Name)
		}
		a.known[m.Name] = m
	}
	for n := range a.known {
		a.names = append(a.names, n)
	}
	sort.Strings(a.names)
	return a
}

// Modules returns every module the binary contains, sorted by name.
func (a *App) Modules() []Module {
	out := make([]Module, len(a.names))
	for i, n := range a.names {
		out[i] = a.known[n]
	}
	return out
}

// Module returns the module named name.
func (a *App) Module(name string) (Module, bool) {
	m, ok := a.known[name]
	return m, ok
}
