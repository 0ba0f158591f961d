package auth_test

import (
	"fmt"
	"strings"
	"testing"
)

// Profile text cannot carry characters that reorder, hide or fake what is
// shown (bidi controls, zero-width and other invisible characters, control
// characters, exotic spaces in names); each refusal names its field.
func TestProfileTextRefusesSpoofingCharacters(t *testing.T) {
	e := start(t, nil)
	u, tk := e.account(t, "spoofer")
	refused := []struct {
		field, value string
	}{
		{"display_name", "\u202Enimda"}, // RIGHT-TO-LEFT OVERRIDE
		{"display_name", "adm\u202Ain"},
		{"display_name", "a\u2066b\u2069"}, // isolates
		{"display_name", "ad\u200Bmin"},    // zero-width space
		{"display_name", "ad\u200Cmin"},
		{"display_name", "ad\u200Dmin"}, // a zero-width joiner between letters
		{"display_name", "ad\u200Emin"},
		{"display_name", "ad\u200Fmin"},
		{"display_name", "ad\u2060min"}, // word joiner
		{"display_name", "\uFEFFadmin"},
		{"display_name", "ad\u00ADmin"},     // soft hyphen
		{"display_name", "admin\U000E0041"}, // tag character
		{"display_name", "a\u061Cb"},        // Arabic letter mark
		{"display_name", "line\u2028break"},
		{"display_name", "para\u2029break"},
		{"display_name", "bell\u0007"},
		{"display_name", "esc\u001b[31mred"},
		{"display_name", "c1\u0085next"},
		{"display_name", "del\u007f"},
		{"display_name", "two\nlines"},
		{"display_name", "tab\there"},
		{"display_name", "\u3164"},        // Hangul filler: a "blank" name
		{"display_name", "x\u2800"},       // braille blank
		{"display_name", "no\u00A0break"}, // a space that is not the space
		{"display_name", "ideo\u3000space"},
		{"display_name", "non\uFFFFchar"},
		{"location", "Par\u202Eis"},
		{"location", "Paris\u200B"},
		{"location", "Paris\nFrance"},
		{"bio", "plays \u202Eolle\u202C cello"},
		{"bio", "hidden\u200Btext"},
		{"bio", "escape \u001b[2J"},
		{"bio", "bell \u0007"},
	}
	for _, tc := range refused {
		t.Run(fmt.Sprintf("%s %+q", tc.field, tc.value), func(t *testing.T) {
			env := e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{tc.field: tc.value}, bearer(tk)...).
				ErrorCode(t, 422, "validation_failed")
			if len(env.Error.Details) != 1 || env.Error.Details[0].Field != tc.field || !strings.Contains(env.Error.Details[0].Message, "U+") {
				t.Fatalf("details %+v, want one for %s naming the character", env.Error.Details, tc.field)
			}
		})
	}
	// What people write stays possible: accents, scripts, emoji (ZWJ
	// sequences included), line breaks and typographic spaces in a bio.
	var got user
	e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{
		"display_name": "Zoë Ångström 👩‍💻 محمد",
		"location":     "Île-de-France",
		"bio":          "Cellist.\r\nLikes\tfrench punctuation\u202F!\nFamily: 👨‍👩‍👧 🏳️‍🌈 👩🏽‍🚀",
	}, bearer(tk)...).Status(t, 200).Data(t, &got)
	if got.DisplayName != "Zoë Ångström 👩‍💻 محمد" {
		t.Fatalf("display name stored as %q", got.DisplayName)
	}
	// Usernames were ASCII-only already; a bidi control there is refused too.
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": "adm\u202Ein", "email": "b@example.com", "password": strongPassword}).
		ErrorCode(t, 422, "validation_failed")
	// Nothing above was stored.
	if n := e.count(t, `SELECT count(*) FROM users WHERE display_name LIKE '%' || chr(8238) || '%' OR bio LIKE '%' || chr(8203) || '%'`); n != 0 {
		t.Fatalf("%d profiles hold a refused character", n)
	}
}

// avatar_url must be an https URL on a public host, however the host is
// spelled; links are http(s) URLs on public hosts. Refusals name the field.
func TestProfileURLsMustPointToPublicHosts(t *testing.T) {
	e := start(t, nil)
	u, tk := e.account(t, "avatarist")
	refused := []string{
		"http://cdn.example.com/a.png", // not https
		"javascript:alert(1)",
		"data:image/png;base64,AAAA",
		"https:cdn.example.com/a.png",
		"//cdn.example.com/a.png",
		"https:///a.png",
		"https://127.0.0.1/a.png",
		"https://127.0.0.1./a.png",
		"https://127.1/a.png",
		"https://127.0.1/a.png",
		"https://2130706433/a.png",
		"https://0x7f000001/a.png",
		"https://0x7f.1/a.png",
		"https://0177.0.0.1/a.png",
		"https://0177.1/a.png",
		"https://017700000001/a.png",
		"https://１２７.０.０.１/a.png", // fullwidth: a browser maps it to 127.0.0.1
		"https://[::1]/a.png",
		"https://[::ffff:127.0.0.1]/a.png",
		"https://[::ffff:7f00:1]/a.png",
		"https://[::127.0.0.1]/a.png",
		"https://[0:0:0:0:0:ffff:a00:1]/a.png",
		"https://[64:ff9b::a9fe:a9fe]/a.png",
		"https://[fe80::1%25eth0]/a.png",
		"https://[fc00::1]/a.png",
		"https://[::]/a.png",
		"https://0.0.0.0/a.png",
		"https://0/a.png",
		"https://10.0.0.5/a.png",
		"https://172.16.3.4/a.png",
		"https://192.168.1.1/a.png",
		"https://169.254.169.254/latest/meta-data/",
		"https://0xa9fea9fe/",
		"https://100.64.0.1/a.png",
		"https://224.0.0.1/a.png",
		"https://255.255.255.255/a.png",
		"https://240.0.0.1/a.png",
		"https://192.0.2.1/a.png",
		"https://1.2.3.4.5/a.png",
		"https://256.1.1.1/a.png",
		"https://cdn.0x7f/a.png", // ends in a number: an address or nothing, for a browser
		"https://cdn.example.123/a.png",
		"https://localhost/a.png",
		"https://LOCALHOST:8443/a.png",
		"https://avatars.localhost/a.png",
		"https://printer.local/a.png",
		"https://metadata.google.internal/computeMetadata/v1/",
		"https://nas.home.arpa/a.png",
		"https://intranet/a.png",
		"https://user:secret@cdn.example.com/a.png",
		"https://user@cdn.example.com/a.png",
		"https://cdn.example.com\\@127.0.0.1/a.png",
		"https://cdn.exa\u202Emple.com/a.png",
		"https://cdn.example.com/a\u200B.png",
		"https://cdn.example.com/a b.png",
		"https://cdn.example.com:0/a.png",
		"https://cdn.example.com:70000/a.png",
		"https://cdn.example.com/" + strings.Repeat("a", 500) + ".png",
	}
	for _, avatar := range refused {
		t.Run("avatar "+avatar, func(t *testing.T) {
			env := e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"avatar_url": avatar}, bearer(tk)...).
				ErrorCode(t, 422, "validation_failed")
			if len(env.Error.Details) != 1 || env.Error.Details[0].Field != "avatar_url" || env.Error.Details[0].Message == "" {
				t.Fatalf("details %+v, want one for avatar_url", env.Error.Details)
			}
		})
	}
	for _, links := range [][]string{
		{"https://ok.example.com", "http://127.0.0.1:8080/admin"},
		{"http://192.168.0.1/"},
		{"https://0x7f.1/"},
		{"http://router/setup"},
		{"https://user:pw@example.com/"},
		{"https://exa\u202Emple.com/"},
		{"ftp://example.com/file"},
	} {
		env := e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"links": links}, bearer(tk)...).ErrorCode(t, 422, "validation_failed")
		if len(env.Error.Details) != 1 || env.Error.Details[0].Field != "links" {
			t.Fatalf("links %q: details %+v", links, env.Error.Details)
		}
	}
	for _, avatar := range []string{
		"https://cdn.example.com/a.png",
		"https://cdn.example.com:8443/a.png?size=64#x",
		"https://8.8.8.8/a.png",
		"https://[2606:4700:4700::1111]/a.png",
		"https://bücher.de/a.png",
		"https://xn--bcher-kva.de/a.png",
		"https://localhost.example.com/a.png",
		"",
	} {
		e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"avatar_url": avatar}, bearer(tk)...).Status(t, 200)
	}
	e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"links": []string{"http://old-school.example.org/", "https://example.com/~me"}}, bearer(tk)...).Status(t, 200)
}
