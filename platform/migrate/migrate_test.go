package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestList(t *testing.T) {
	good := fstest.MapFS{
		"0002_more.up.sql": {Data: []byte("x")}, "0002_more.down.sql": {Data: []byte("x")},
		"0001_init.up.sql": {Data: []byte("x")}, "0001_init.down.sql": {Data: []byte("x")},
	}
	list, err := List(Source{Module: "m", FS: good})
	if err != nil || len(list) != 2 || list[0].Version != 1 || list[1].Name != "more" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	cases := map[string]fstest.MapFS{
		"needs both":     {"0001_init.up.sql": {}},
		"is not named":   {"init.sql": {}},
		"has two names":  {"0001_a.up.sql": {}, "0001_b.down.sql": {}},
		"must be a posi": {"0000_zero.up.sql": {}, "0000_zero.down.sql": {}},
	}
	for want, fsys := range cases {
		if _, err := List(Source{Module: "m", FS: fsys}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if e := (&ErrDirty{Module: "tracks", Version: 3}).Error(); !strings.Contains(e, "veza migrate force --module tracks 2") {
		t.Errorf("dirty message: %s", e)
	}
}
