package password

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Policy says which new passwords are acceptable. It follows NIST SP 800-63B:
// a minimum length and a check against known-weak passwords, no composition
// rules (they push users toward "Password1!"), and a maximum length high
// enough for passphrases that only exists to bound the work per request.
type Policy struct {
	// MinLength is the minimum number of characters (runes); 0 means 12.
	MinLength int
	// MaxLength is the maximum number of characters (runes); 0 means 128.
	MaxLength int
}

// Default lengths of DefaultPolicy.
const (
	DefaultMinLength = 12
	DefaultMaxLength = 128
)

// DefaultPolicy returns the policy new accounts get: 12 to 128 characters,
// not common. Twelve characters is what OWASP recommends when, as here, no
// second factor is required.
func DefaultPolicy() Policy {
	return Policy{MinLength: DefaultMinLength, MaxLength: DefaultMaxLength}
}

// Problem is why a password was refused, worded for the user (the message
// completes "Password ..."), so that a handler can show it as the validation
// error of the password field without rewording.
type Problem struct {
	Message string
}

// Error returns the message, prefixed with "password " so that it reads as a
// sentence when logged or shown alone.
func (p *Problem) Error() string { return "password " + p.Message }

// Check returns nil if password is acceptable, or a *Problem saying why not:
// it is not valid UTF-8 or contains a NUL character (which many systems
// truncate at), it is shorter or longer than allowed (counted in characters,
// spaces included), or it is common (see IsCommon). The password itself is
// never trimmed: leading and trailing spaces are part of it.
func (p Policy) Check(password string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = DefaultMinLength
	}
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	if !utf8.ValidString(password) {
		return &Problem{Message: "must be valid text (UTF-8)"}
	}
	if strings.IndexByte(password, 0) >= 0 {
		return &Problem{Message: "must not contain NUL characters"}
	}
	n := utf8.RuneCountInString(password)
	if n < minLen {
		return &Problem{Message: fmt.Sprintf("must be at least %d characters", minLen)}
	}
	if n > maxLen {
		return &Problem{Message: fmt.Sprintf("must be at most %d characters", maxLen)}
	}
	if IsCommon(password) {
		return &Problem{Message: "is too common: choose a less guessable password"}
	}
	return nil
}
