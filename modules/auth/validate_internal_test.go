package auth

import (
	"strings"
	"testing"
)

func TestParseEmail(t *testing.T) {
	ok := map[string]string{
		" Ada@Example.COM ":                     "ada@example.com",
		"ada+tag@example.com":                   "ada+tag@example.com",
		"o'brien@example.co.uk":                 "o'brien@example.co.uk",
		"ada@Bücher.example":                    "ada@xn--bcher-kva.example",
		"ada@xn--bcher-kva.example":             "ada@xn--bcher-kva.example",
		"ada@пример.рф":                         "ada@xn--e1afmkfd.xn--p1ai",
		"a@b.co":                                "a@b.co",
		"first.last@sub.example.org":            "first.last@sub.example.org",
		"x@" + strings.Repeat("a", 63) + ".com": "x@" + strings.Repeat("a", 63) + ".com",
	}
	for in, want := range ok {
		if got, problem := parseEmail(in); got != want || problem != "" {
			t.Errorf("parseEmail(%q) = %q, %q; want %q", in, got, problem, want)
		}
	}
	refused := map[string]string{
		"":                          emailInvalid,
		"ada":                       emailInvalid,
		"@example.com":              emailInvalid,
		"ada@":                      emailInvalid,
		"Ada <ada@example.com>":     emailInvalid,
		"ada@@example.com":          emailInvalid,
		".ada@example.com":          emailInvalid,
		"ada..l@example.com":        emailInvalid,
		"іван@example.com":          emailLocalPart,
		"ada\u200b@example.com":     emailLocalPart,
		"ada@example":               emailDomain,
		"ada@example.com.":          emailDomain,
		"ada@exa\u200bmple.com":     emailDomain,
		"ada@xn--invalid-.com":      emailDomain,
		"ada@-example.com":          emailDomain,
		"ada@1.2.3.4":               emailInvalid + "|" + emailDomain,
		"ada@[127.0.0.1]":           emailInvalid + "|" + emailDomain,
		"ada\n@example.com":         emailInvalid,
		"ada@example.com\r\nBcc: x": emailInvalid,
	}
	for in, want := range refused {
		got, problem := parseEmail(in)
		if got != "" || problem == "" || !strings.Contains("|"+want+"|", "|"+problem+"|") {
			t.Errorf("parseEmail(%q) = %q, %q; want refused with %q", in, got, problem, want)
		}
	}
}

func TestTextProblemKeepsEmojiSequences(t *testing.T) {
	for _, s := range []string{"👨‍👩‍👧", "🏳️‍🌈", "👩🏽‍🚀", "❤️‍🔥", "plain text", "Ünïcödé 日本語 عربي"} {
		if p := textProblem(s, nameText); p != "" {
			t.Errorf("textProblem(%q) = %q", s, p)
		}
	}
	for _, s := range []string{"a\u200Db", "👨\u200D", "\u200D👨", "👨\u200D\u200D👩", "a\u200D👨"} {
		if p := textProblem(s, nameText); p == "" {
			t.Errorf("textProblem(%+q) accepted a joiner outside an emoji sequence", s)
		}
	}
}
