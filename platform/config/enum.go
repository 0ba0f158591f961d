package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Enumerated settings (LOG_LEVEL, APP_ENV, MAIL_DRIVER, a module's
// mail_driver...) declare their choices in an `enum` tag: `enum:"debug,info,
// warn|warning,error"`. A value is matched whatever its letter case and
// surrounding blanks, an alias after | stands for the name before it, and the
// field is rewritten to the canonical spelling, so the code compares against
// one spelling while operators may write INFO, Info or " info ". Every
// platform and module setting goes through NormalizeEnums, so a new setting
// gets this by declaring its tag.

// enumChoice is one allowed value with its aliases.
type enumChoice struct {
	name    string
	aliases []string
}

func parseEnumTag(tag string) []enumChoice {
	var out []enumChoice
	for _, part := range strings.Split(tag, ",") {
		names := strings.Split(strings.TrimSpace(part), "|")
		out = append(out, enumChoice{name: names[0], aliases: names[1:]})
	}
	return out
}

// canonical returns the choice that value names, or false.
func canonical(choices []enumChoice, value string) (string, bool) {
	v := strings.ToLower(strings.TrimSpace(value))
	for _, c := range choices {
		if v == c.name {
			return c.name, true
		}
		for _, a := range c.aliases {
			if v == a {
				return c.name, true
			}
		}
	}
	return "", false
}

func describeChoices(choices []enumChoice) string {
	names := make([]string, 0, len(choices))
	for _, c := range choices {
		if c.name == "" {
			continue // "unset" is a choice but not one to advertise
		}
		names = append(names, c.name)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// NormalizeEnums rewrites every string field of the struct ptr points to that
// has an `enum` tag to its canonical choice, and refuses a value that is none
// of the choices. name gives the setting's name for the message (the
// environment variable an operator sets).
func NormalizeEnums(ptr any, name func(f reflect.StructField) string) error {
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil
	}
	v := rv.Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("enum")
		if !ok || !f.IsExported() || f.Type.Kind() != reflect.String {
			continue
		}
		choices := parseEnumTag(tag)
		fv := v.Field(i)
		got, ok := canonical(choices, stripComment(fv.String()))
		if !ok {
			return fmt.Errorf("%s=%q must be %s (any letter case)", name(f), fv.String(), describeChoices(choices))
		}
		fv.SetString(got)
	}
	return nil
}

// trailingComment is an inline comment after a value, as .env files and
// their copies write them: "INFO # DEBUG|INFO|WARN|ERROR".
var trailingComment = regexp.MustCompile(`\s+#.*$`)

// stripComment drops an inline comment. It is applied only to values that
// can never contain " #" themselves (choices, numbers, durations, sizes,
// booleans), never to free text such as passwords or URLs.
func stripComment(s string) string {
	return strings.TrimSpace(trailingComment.ReplaceAllString(s, ""))
}

// boolHook reads yes/no, on/off, true/false and 1/0 in any letter case.
func boolHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Bool || from.Kind() != reflect.String {
		return data, nil
	}
	switch strings.ToLower(stripComment(data.(string))) {
	case "1", "t", "true", "y", "yes", "on":
		return true, nil
	case "0", "f", "false", "n", "no", "off", "":
		return false, nil
	}
	return nil, fmt.Errorf("%q is not a boolean (use true or false)", data)
}

// numberHook drops blanks and an inline comment around numbers.
func numberHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if to == reflect.TypeOf(ByteSize(0)) || to.PkgPath() == "time" {
			return data, nil // their own hooks read them
		}
		return stripComment(data.(string)), nil
	}
	return data, nil
}
