package auth

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/idna"

	"github.com/veza/veza/platform/netguard"
)

// maxURLLength bounds avatar_url and each link: longer ones are abuse, not
// addresses.
const maxURLLength = 500

// urlRules is what a profile URL must be beyond a well-formed http(s) URL.
type urlRules struct {
	// httpsOnly refuses plain http (avatar_url: a page served over https
	// must not load an image over http).
	httpsOnly bool
}

// webURLProblem says why raw cannot be a profile URL, "" when it can.
//
// The URLs of a profile are shown to other people and loaded by their
// browsers; Veza never fetches them (no avatar proxy, no link preview), so
// nothing here protects the server: it protects the people who view the
// profile from a URL that points into their own network (their router, a
// service on their machine, the cloud metadata address) or hides where it
// goes. The host is therefore read as a browser reads it: IPv4 in every
// spelling inet_aton accepts (2130706433, 0x7f.1, 0177.0.0.1, 127.1),
// IPv6 literals with an embedded IPv4 address, and Unicode hosts through
// IDNA (fullwidth digits are digits). A name that resolves to a private
// address cannot be recognised without resolving it, and what it resolves
// to may change afterwards; since nothing server-side ever connects to it,
// such a name is the viewer's resolver's business, like any link on the web.
func webURLProblem(raw string, r urlRules) string {
	if len(raw) > maxURLLength {
		return fmt.Sprintf("must be at most %d characters", maxURLLength)
	}
	for _, c := range raw {
		// Browsers read a backslash as a slash, which moves the host
		// ("https://a.example\@127.0.0.1"); spaces and invisible
		// characters hide where the URL goes.
		if c == '\\' || unicode.IsSpace(c) || runeProblem(c, nameText) != "" {
			return fmt.Sprintf("must not contain %U", c)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		if r.httpsOnly {
			return "must be an absolute https URL"
		}
		return "must be an absolute http(s) URL"
	}
	if r.httpsOnly && u.Scheme != "https" {
		return "must use https"
	}
	if u.User != nil {
		return "must not contain a user name or password"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	return hostProblem(u.Hostname())
}

// hostProblem says why host (as url.URL.Hostname gives it) is not a public
// host, "" when it is.
func hostProblem(host string) string {
	if strings.Contains(host, ":") { // IPv6 literal
		return addrProblem(host)
	}
	ascii, err := idna.Lookup.ToASCII(host) // lower-cases and maps as browsers do
	if err != nil || ascii == "" {
		return "must have a valid host name"
	}
	if netguard.LooksNumeric(ascii) {
		return addrProblem(ascii)
	}
	if netguard.IsInternalName(ascii) {
		return "must name a public host, not a local or internal one"
	}
	return ""
}

func addrProblem(host string) string {
	a, ok := netguard.HostAddr(host)
	if !ok {
		return "must have a valid host"
	}
	if c := netguard.Classify(a); c != netguard.Public {
		return fmt.Sprintf("must point to a public host, not a %s address", c)
	}
	return ""
}
