package auth_test

import (
	"bytes"
	"net/http"
	"testing"
)

// FuzzJSONHandlers sends arbitrary bodies to every JSON route of the module:
// whatever the bytes, the answer is never a 5xx.
//
//	go test -run '^$' -fuzz FuzzJSONHandlers -fuzztime 60s ./modules/auth/
func FuzzJSONHandlers(f *testing.F) {
	e := start(f, map[string]string{"VEZA_AUTH_MAX_FAILED_LOGINS_PER_IP": "1000000", "VEZA_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": "1000000",
		"VEZA_AUTH_LOGIN_DELAY_AFTER": "1000000"})
	u, tk := e.account(f, "fuzzer")
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/auth/register"},
		{"POST", "/api/v1/auth/verify-email"},
		{"POST", "/api/v1/auth/resend-verification"},
		{"POST", "/api/v1/auth/login"},
		{"POST", "/api/v1/auth/refresh"},
		{"POST", "/api/v1/auth/logout"},
		{"POST", "/api/v1/auth/password/reset-request"},
		{"POST", "/api/v1/auth/password/reset"},
		{"PUT", "/api/v1/users/" + u.ID},
	}
	seeds := []string{
		`{}`, `null`, `[]`, `"x"`, `{"email":"a@b.co","password":"correct horse battery staple"}`,
		`{"username":"abc","email":"abc@example.com","password":"correct horse battery staple"}`,
		`{"username":"\u0000\u0000\u0000","email":"@","password":"` + "\xff\xfe" + `"}`,
		`{"token":"` + string(bytes.Repeat([]byte("a"), 5000)) + `"}`, `{"refresh_token":12}`, `{"all":"yes"}`,
		`{"display_name":{"a":1},"links":["https://x.example", 3]}`, `{"links":null,"bio":null}`,
		`{"email":"x@example.com","password":"` + string(bytes.Repeat([]byte("p"), 2000)) + `"}`, `{"a":1}{"b":2}`, "\x00",
	}
	for i := range routes {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s), true)
		}
	}
	f.Add(uint8(0), []byte(`{"username":"x"}`), false)
	f.Fuzz(func(t *testing.T, route uint8, body []byte, asJSON bool) {
		r := routes[int(route)%len(routes)]
		req, err := http.NewRequest(r.method, e.URL+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if asJSON {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
		res, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: status %d", r.method, r.path, body, res.StatusCode)
		}
	})
}
