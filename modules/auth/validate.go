package auth

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/veza/veza/platform/mail"
	"github.com/veza/veza/platform/netguard"
)

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{3,30}$`)

func validUsername(s string) bool { return usernamePattern.MatchString(s) }

// normalizeEmail is the form an address is stored and looked up in: the
// canonical form when the address is one an account may have, else the
// input trimmed and lower-cased (a login with an address that could never
// register simply finds no account).
func normalizeEmail(s string) string {
	if canonical, problem := parseEmail(s); problem == "" {
		return canonical
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// Why an address cannot be an account's. Each names what to fix.
const (
	emailInvalid   = "must be a valid email address"
	emailLocalPart = "the part before @ must use only ASCII letters, digits and . ! # $ % & ' * + - / = ? ^ _ ` { | } ~ (mail servers cannot deliver to other characters)"
	emailDomain    = "the domain is not a valid domain name"
)

// parseEmail returns the canonical form of an address an account may have,
// or why it may not: one mailbox, one account, and one that the platform's
// mail sender accepts, so that no account can register with an address it
// can never be mailed at.
//
// The address is trimmed and lower-cased. The local part must be ASCII:
// internationalised local parts (RFC 6531) need SMTPUTF8 from every relay
// on the way, and a Cyrillic look-alike of a Latin address is exactly what
// must not register. The domain may be internationalised: it is stored in
// its IDNA (punycode) form, which is what DNS and SMTP use, after the IDNA
// registration checks (no disallowed or mixed-direction labels).
func parseEmail(raw string) (canonical, problem string) {
	s := strings.ToLower(strings.TrimSpace(raw))
	at := strings.LastIndexByte(s, '@')
	if len(s) < 3 || len(s) > 254 || at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", emailInvalid
	}
	local, domain := s[:at], s[at+1:]
	if !isASCII(local) {
		return "", emailLocalPart
	}
	ascii, err := idna.Registration.ToASCII(domain)
	// A numeric top label makes an IP address, which SMTP only takes in
	// brackets, or nothing.
	if err != nil || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") || netguard.LooksNumeric(ascii) {
		return "", emailDomain
	}
	canonical = local + "@" + ascii
	if len(canonical) > 254 {
		return "", emailInvalid
	}
	// The sender's own parser has the last word: what it refuses could
	// never be mailed (a quoted local part, a label over 63 octets...), and
	// what it reads differently (a comment: "ada(x)@example.com" is mailed
	// to ada@example.com) would give one mailbox several accounts.
	if a, err := mail.ParseAddress(canonical); err != nil || a.Address != canonical || a.Name != "" {
		return "", emailInvalid
	}
	return canonical, ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// textKind says what a free-text profile field may hold beyond printable
// characters.
type textKind int

const (
	// nameText is a single line that identifies someone (display name,
	// location): the plain space is its only space, so that no look-alike
	// of another's name can be made with invisible or exotic spacing.
	nameText textKind = iota
	// proseText may hold line breaks, tabs and typographic spaces (bio).
	proseText
)

// textProblem says why s cannot be stored in a field of kind k, "" when it
// can. Refused everywhere: control characters (C0, DEL, C1), line and
// paragraph separators, bidirectional controls (which reorder what follows
// them: "txt.exe" shown as "exe.txt"), and the other invisible format and
// filler characters that make two different names look alike or hide
// text (zero-width spaces and joiners, word joiner, BOM, tag characters,
// Hangul fillers, the braille blank). A zero-width joiner is kept between
// two emoji, where it builds one emoji (a family, a flag): there it can
// neither hide text nor split a word.
func textProblem(s string, k textKind) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	var prev rune
	for i, r := range s {
		if p := runeProblem(r, k); p != "" {
			if r == zwj && emojiJoined(prev, s[i+utf8.RuneLen(r):]) {
				prev = r
				continue
			}
			return fmt.Sprintf("must not contain %U (%s)", r, p)
		}
		prev = r
	}
	return ""
}

const zwj = '\u200D'

// invisible are printable by category (letters, symbols, marks) yet show
// nothing: the favourite material of blank or cloned names.
var invisible = map[rune]bool{
	'\u034F': true,                                                 // combining grapheme joiner
	'\u115F': true, '\u1160': true, '\u3164': true, '\uFFA0': true, // Hangul fillers
	'\u17B4': true, '\u17B5': true, // Khmer inherent vowels
	'\u180B': true, '\u180C': true, '\u180D': true, '\u180F': true, // Mongolian variation selectors
	'\u2800': true, // braille blank
	'\uFFFC': true, // object replacement character
}

func runeProblem(r rune, k textKind) string {
	switch {
	case r == '\n' || r == '\r' || r == '\t':
		if k == proseText {
			return ""
		}
		return "a line break or tab"
	case unicode.Is(unicode.Cc, r):
		return "a control character"
	case r == '\u2028' || r == '\u2029':
		return "a line or paragraph separator"
	case isBidiControl(r):
		return "a bidirectional control character"
	case unicode.Is(unicode.Cf, r), invisible[r]:
		return "an invisible character"
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return "a noncharacter"
	case k == nameText && r != ' ' && unicode.Is(unicode.Zs, r):
		return "a space other than the plain space"
	}
	return ""
}

// isBidiControl covers the embeddings, overrides and isolates and the
// implicit marks (LRM, RLM, ALM).
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' ||
		r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// emojiJoined reports whether a zero-width joiner after prev and before
// rest sits inside an emoji ZWJ sequence: an emoji (possibly with its
// presentation selector or skin tone, itself an emoji) before it, an emoji
// after it.
func emojiJoined(prev rune, rest string) bool {
	next, _ := utf8.DecodeRuneInString(rest)
	return (isEmoji(prev) || prev == '\uFE0F') && isEmoji(next)
}

func isEmoji(r rune) bool {
	return r >= 0x1F000 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF || r == 0x2B1B || r == 0x2B1C || r == 0x2B50
}
