package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// DefaultEnvFile is read from the working directory when present; the
// VEZA_ENV_FILE variable names another.
const DefaultEnvFile = ".env"

// WithEnvFile layers a .env file under lookup (os.LookupEnv when nil): a
// variable of the real environment wins over the file's. The file is
// DefaultEnvFile, or the one VEZA_ENV_FILE names (which must then exist).
// Its syntax is the shell's subset every .env writer uses: KEY=value lines,
// an optional "export ", '#' comments on their own line or after a blank,
// 'single quotes' taken literally and "double quotes" with \n, \" and \\
// escapes. Nothing is expanded: a '$' in a password stays a '$'.
func WithEnvFile(lookup func(string) (string, bool)) (func(string) (string, bool), error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	path, named := lookup("VEZA_ENV_FILE")
	if !named || path == "" {
		path = DefaultEnvFile
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !named {
		return lookup, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: read VEZA_ENV_FILE %s: %w", path, err)
	}
	defer f.Close()
	vars, err := ParseEnvFile(f)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return func(k string) (string, bool) {
		if v, ok := lookup(k); ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	}, nil
}

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseEnvFile reads a .env file; see WithEnvFile for its syntax.
func ParseEnvFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, raw, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !envKey.MatchString(key) {
			return nil, fmt.Errorf("line %d: want KEY=value", n)
		}
		val, err := envValue(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", n, key, err)
		}
		out[key] = val
	}
	return out, sc.Err()
}

func envValue(raw string) (string, error) {
	switch {
	case strings.HasPrefix(raw, "'"):
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single quote")
		}
		return raw[1 : end+1], rest(raw[end+2:])
	case strings.HasPrefix(raw, `"`):
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			switch c := raw[i]; {
			case c == '"':
				return b.String(), rest(raw[i+1:])
			case c == '\\' && i+1 < len(raw):
				i++
				switch raw[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(raw[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	}
	return strings.TrimSpace(trailingComment.ReplaceAllString(raw, "")), nil
}

// rest checks what follows a quoted value: nothing but a comment.
func rest(s string) error {
	if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, "#") {
		return fmt.Errorf("unexpected %q after the quoted value", s)
	}
	return nil
}
