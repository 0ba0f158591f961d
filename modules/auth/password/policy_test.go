package password

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestCommonList(t *testing.T) {
	if n := CommonCount(); n < 10000 {
		t.Fatalf("CommonCount() = %d, want >= 10000", n)
	}
	lines := strings.Split(strings.TrimSuffix(commonText, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "#") || !strings.Contains(commonText, "MIT") || !strings.Contains(commonText, "zxcvbn") {
		t.Fatal("common.txt must start with a header naming its source and licence")
	}
	seen := map[string]bool{}
	entries := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		entries++
		if l == "" || l != strings.ToLower(strings.TrimSpace(l)) {
			t.Fatalf("entry %q is not trimmed lower-case", l)
		}
		if seen[l] {
			t.Fatalf("duplicate entry %q", l)
		}
		seen[l] = true
	}
	if entries != CommonCount() {
		t.Fatalf("%d entries in the file, %d in the set", entries, CommonCount())
	}
	for _, w := range []string{"password", "123456", "qwertyuiop", "dragon", "letmein", "trustno1"} {
		if !IsCommon(w) {
			t.Errorf("IsCommon(%q) = false", w)
		}
	}
}

func TestIsCommon(t *testing.T) {
	common := []string{
		"", "   ",
		"password", "PASSWORD", "  Password ", "password1234", "Password1234!", "123password",
		"qwertyuiop123", "QwertyUiop123", "Dragon2024!!", "!!dragon!!", "letmein2024$$", "iloveyou12345",
		"p@ssw0rd", "P@ssw0rd2024!", "1qaz2wsx!!",
		"123456789012", "987654321098", "012345678901", "1234567890", "000000000000", "111111111111",
		"abcdefghijkl", "zyxwvutsrqpo",
		"aaaaaaaaaaaa", "abcabcabcabc", "121212121212", "x7!x7!x7!x7!", "passwordpassword", "dragondragon!",
		"Aa1!Aa1!Aa1!",
	}
	for _, pw := range common {
		if !IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false, want true", pw)
		}
	}
	fine := []string{
		"correct horse battery staple", "Tr0ub4dor&3-extended", "v7#Lq9!zR2@wX", "kX9$mP2vL8nQ4wR7tY5z",
		"1357924680135", "135792468024", "abdefghijklm", "Tr0ub4dor&3Tr0ub4dor&3", "mot de passe très sûr",
		"パスワードは長くて安全です", "dragon-fruit-on-a-tuesday",
	}
	for _, pw := range fine {
		if IsCommon(pw) {
			t.Errorf("IsCommon(%q) = true, want false", pw)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		pw   string
		want string // Problem message, "" for accepted
	}{
		{"password1234", "is too common: choose a less guessable password"},
		{"123456789012", "is too common: choose a less guessable password"},
		{"qwertyuiop123", "is too common: choose a less guessable password"},
		{"Dragon2024!!", "is too common: choose a less guessable password"},
		{"987654321098", "is too common: choose a less guessable password"},
		{"abcabcabcabc", "is too common: choose a less guessable password"},
		{"            ", "is too common: choose a less guessable password"},
		{"short", "must be at least 12 characters"},
		{"", "must be at least 12 characters"},
		{"ééééé", "must be at least 12 characters"},
		{"elevenchars", "must be at least 12 characters"},
		{strings.Repeat("x", 129), "must be at most 128 characters"},
		{"correct horse\x00battery", "must not contain NUL characters"},
		{"correct horse \xff battery", "must be valid text (UTF-8)"},
		{"correct horse battery staple", ""},
		{"Tr0ub4dor&3-extended", ""},
		{"v7#Lq9!zR2@wX", ""},
		{"kX9$mP2vL8nQ4wR7tY5z", ""},
		{"  padded secret phrase  ", ""},       // spaces count and are kept
		{"日本語のパスワードは安全です", ""},                 // 14 runes, 42 bytes
		{strings.Repeat("zq8", 42) + "k7", ""}, // 128 runes
		{strings.Repeat("é", 6) + "zq8Lk7", ""},
	}
	pol := DefaultPolicy()
	for _, tt := range tests {
		err := pol.Check(tt.pw)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", tt.pw, err)
			}
			continue
		}
		var prob *Problem
		if !errors.As(err, &prob) {
			t.Errorf("Check(%q) = %v, want a *Problem %q", tt.pw, err, tt.want)
			continue
		}
		if prob.Message != tt.want {
			t.Errorf("Check(%q) = %q, want %q", tt.pw, prob.Message, tt.want)
		}
		if err.Error() != "password "+tt.want {
			t.Errorf("Error() = %q", err.Error())
		}
	}
}

func TestPolicyLimits(t *testing.T) {
	if p := DefaultPolicy(); p.MinLength != 12 || p.MaxLength != 128 {
		t.Fatalf("DefaultPolicy() = %+v", p)
	}
	// Zero fields mean the defaults.
	if err := (Policy{}).Check("short"); err == nil || err.Error() != "password must be at least 12 characters" {
		t.Fatalf("zero Policy: %v", err)
	}
	if err := (Policy{}).Check("correct horse battery staple"); err != nil {
		t.Fatalf("zero Policy: %v", err)
	}
	p := Policy{MinLength: 16, MaxLength: 20}
	if err := p.Check("kX9$mP2vL8nQ4w"); err == nil || err.Error() != "password must be at least 16 characters" {
		t.Fatalf("MinLength 16: %v", err)
	}
	if err := p.Check("kX9$mP2vL8nQ4wR7tY5zA"); err == nil || err.Error() != "password must be at most 20 characters" {
		t.Fatalf("MaxLength 20: %v", err)
	}
}

func TestRandomPasswordsAccepted(t *testing.T) {
	pol := DefaultPolicy()
	for range 200 {
		pw := rand.Text()[:20] // base32: 20 characters, 100 bits
		if err := pol.Check(pw); err != nil {
			t.Fatalf("Check(%q) = %v", pw, err)
		}
	}
}

func BenchmarkIsCommon(b *testing.B) {
	CommonCount() // build the set outside the timing
	for _, pw := range []string{"correct horse battery staple", "Password1234!", "kX9$mP2vL8nQ4wR7tY5z"} {
		b.Run(pw[:8], func(b *testing.B) {
			for b.Loop() {
				IsCommon(pw)
			}
		})
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	pol := DefaultPolicy()
	CommonCount()
	for b.Loop() {
		_ = pol.Check("correct horse battery staple")
	}
}
