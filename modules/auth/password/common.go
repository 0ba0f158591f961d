package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// commonText is the list of the most common passwords; see its header for
// the source and licence.
//
//go:embed common.txt
var commonText string

// commonSet is built from commonText on first use (not at init), so that
// processes that never check a password do not pay for the map.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 32*1024)
	for line := range strings.Lines(commonText) {
		w := strings.ToLower(strings.TrimSpace(line))
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		set[w] = struct{}{}
	}
	return set
})

// CommonCount returns the number of passwords in the embedded common list,
// so that start-up checks and tests can tell that the list was embedded.
func CommonCount() int { return len(commonSet()) }

// minBaseLen is the shortest base (what remains once digits and symbols are
// stripped from the ends) that is looked up in the list: shorter ones ("abc"
// in "abc!8fK2...") would reject too many good passwords.
const minBaseLen = 4

// maxRepeatedChunk is the longest chunk that, repeated, makes a password
// weak by itself ("abcabcabcabc", "x7!x7!x7!x7!"); a longer chunk is
// rejected only if it is common ("passwordpassword").
const maxRepeatedChunk = 6

// IsCommon reports whether password is too guessable to accept: it is in
// the common list (ignoring case and surrounding spaces), or it is a common
// word decorated with leading/trailing digits and symbols or simple
// character substitutions ("Password1234", "p@ssw0rd!", "Dragon2024!!"), or
// it is a trivial pattern (one character or one short chunk repeated,
// ascending or descending runs such as "123456789012" or "abcdefghijkl").
// Attackers try exactly these first, so length alone does not make them
// safe. The empty password counts as common.
func IsCommon(password string) bool {
	s := strings.ToLower(strings.TrimSpace(password))
	if s == "" {
		return true
	}
	if isWeak(s) {
		return true
	}
	// The common word with digits and symbols stripped from its end, then
	// from both ends, then symbols only (keeping digits, for "1qaz2wsx!!").
	for _, base := range [...]string{
		strings.TrimRightFunc(s, notLetter),
		strings.TrimFunc(s, notLetter),
		strings.TrimFunc(s, notLetterOrDigit),
	} {
		if base != s && utf8.RuneCountInString(base) >= minBaseLen && isWeak(base) {
			return true
		}
	}
	return false
}

// isWeak reports whether s (lower-case) is in the list, is in it once
// common substitutions are undone, or is a trivial pattern.
func isWeak(s string) bool {
	if inList(s) || isPattern(s) {
		return true
	}
	u := unleet(s)
	return u != s && inList(u)
}

func inList(s string) bool {
	_, ok := commonSet()[s]
	return ok
}

func notLetter(r rune) bool        { return !unicode.IsLetter(r) }
func notLetterOrDigit(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// leet maps the usual substitutions back to the letter they stand for.
var leet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i")

// unleet undoes common substitutions in s when s has letters ("p@ssw0rd");
// an all-digit string is left alone, as digits there are not stand-ins.
func unleet(s string) string {
	if !strings.ContainsFunc(s, unicode.IsLetter) {
		return s
	}
	return leet.Replace(s)
}

// isPattern reports whether s is a trivial pattern: one short (or common)
// chunk repeated, or a run of consecutive characters up or down.
func isPattern(s string) bool {
	r := []rune(s)
	if len(r) < 2 {
		return false
	}
	if p := period(r); p < len(r) {
		chunk := string(r[:p])
		if p <= maxRepeatedChunk || inList(chunk) || inList(unleet(chunk)) {
			return true
		}
	}
	return isRun(r)
}

// period returns the length of the shortest chunk of which r is a whole
// number of repetitions (len(r) if there is none).
func period(r []rune) int {
	n := len(r)
outer:
	for p := 1; p <= n/2; p++ {
		if n%p != 0 {
			continue
		}
		for i := p; i < n; i++ {
			if r[i] != r[i-p] {
				continue outer
			}
		}
		return p
	}
	return n
}

// isRun reports whether r is all digits or all letters a-z, each one
// following (or preceding) the previous one: "123456789012" (digits wrap
// around from 9 to 0), "987654321098", "abcdefghijkl".
func isRun(r []rune) bool {
	digits, letters := true, true
	for _, c := range r {
		digits = digits && c >= '0' && c <= '9'
		letters = letters && c >= 'a' && c <= 'z'
	}
	switch {
	case digits:
		return stepsBy(r, 10, 1) || stepsBy(r, 10, 9)
	case letters:
		return stepsBy(r, 0, 1) || stepsBy(r, 0, -1)
	}
	return false
}

// stepsBy reports whether each rune of r is the previous plus step (modulo
// mod when mod > 0).
func stepsBy(r []rune, mod, step rune) bool {
	for i := 1; i < len(r); i++ {
		d := r[i] - r[i-1]
		if mod > 0 {
			d = ((d % mod) + mod) % mod
		}
		if d != step {
			return false
		}
	}
	return true
}
