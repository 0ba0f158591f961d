package app_test

import (
	"slices"
	"testing"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/test/fixtures"
)

// A module can read what every enabled module contributed, by name, from
// *app.Inventory; a disabled module contributed nothing.
func TestInventoryListsContributions(t *testing.T) {
	var inv *app.Inventory
	reader := app.Module{Name: "reader", Description: "test: reads the inventory",
		Register: func(i *app.Inventory) { inv = i }}
	srv := apptest.Start(t, apptest.Options{Modules: append(fixtures.Modules(), reader), ModulesYAML: `
modules:
  notes: {enabled: true}
  feed: {enabled: false}
  tap: {enabled: false}
  clash: {enabled: false}
  reader: {enabled: true}
`, Role: app.RoleAPI, NoStart: true})
	_ = srv
	notes := inv.Module("notes")
	if !slices.Contains(notes.Routes, "POST /api/v1/notes") || !slices.Contains(notes.Jobs, "notes:index") ||
		!slices.Contains(notes.Schedules, "@every 1s notes:tick") {
		t.Fatalf("notes: %+v", notes)
	}
	if !slices.IsSorted(notes.Routes) {
		t.Fatalf("routes not sorted: %v", notes.Routes)
	}
	if feed := inv.Module("feed"); feed.Routes == nil || len(feed.Routes)+len(feed.Jobs) != 0 {
		t.Fatalf("a disabled module: %+v", feed)
	}
}
