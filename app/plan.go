package app

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"

	"github.com/veza/veza/platform/config"
)

// Plan is what a deployment runs: the enabled modules in dependency order,
// each with its decoded settings.
type Plan struct {
	// Enabled modules, each after the modules it requires.
	Enabled []Module
	// Known is every module the binary contains, by name.
	Known map[string]Module
	// Settings holds each enabled module's decoded settings pointer.
	Settings map[string]any
	// QueueWeights maps each enabled module's queue to its weight.
	QueueWeights map[string]int
	File         *ModulesFile
	Env          config.Env
}

// IsEnabled reports whether the plan runs module name.
func (p *Plan) IsEnabled(name string) bool {
	for _, m := range p.Enabled {
		if m.Name == name {
			return true
		}
	}
	return false
}

// Names lists the enabled modules in order.
func (p *Plan) Names() []string {
	out := make([]string, len(p.Enabled))
	for i, m := range p.Enabled {
		out[i] = m.Name
	}
	return out
}

// PlanError is a refusal to start. Its message is one line naming the
// modules at fault and the fix.
type PlanError struct{ Problems []string }

func (e *PlanError) Error() string {
	return "modules: " + strings.Join(e.Problems, "; ")
}

// Plan resolves which modules run. lookupEnv (os.LookupEnv when nil) feeds
// settings overrides from the environment.
func (a *App) Plan(env config.Env, file *ModulesFile, lookupEnv func(string) (string, bool)) (*Plan, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if file == nil {
		file = &ModulesFile{Missing: true}
	}
	p := &Plan{Known: a.known, Settings: map[string]any{}, QueueWeights: map[string]int{}, File: file, Env: env}
	if a.err != nil {
		return nil, &PlanError{Problems: []string{a.err.Error()}}
	}
	var problems []string
	problems = append(problems, a.codeProblems()...)
	problems = append(problems, a.fileProblems(file)...)
	if len(problems) > 0 {
		return nil, &PlanError{Problems: problems}
	}
	enabled := a.enabledSet(file)
	problems = append(problems, requirementProblems(a.known, enabled)...)
	if len(problems) > 0 {
		return nil, &PlanError{Problems: problems}
	}
	for _, name := range a.order() {
		if !enabled[name] {
			continue
		}
		m := a.known[name]
		p.Enabled = append(p.Enabled, m)
		entry := file.Modules[name]
		s, err := decodeSettings(m, entry.Settings, env, lookupEnv)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if s != nil {
			p.Settings[name] = s
		}
		w := entry.QueueWeight
		if w == 0 {
			w = 1
		}
		p.QueueWeights[name] = w
	}
	if len(problems) > 0 {
		return nil, &PlanError{Problems: problems}
	}
	return p, nil
}

// codeProblems are mistakes in the binary's own module list: requirements on
// modules it does not contain, and cycles.
func (a *App) codeProblems() []string {
	var out []string
	for _, name := range a.names {
		for _, r := range a.known[name].Requires {
			if _, ok := a.known[r]; !ok {
				out = append(out, fmt.Sprintf("module %s requires %q, which this binary does not contain; fix: build veza with that module or drop the requirement", name, r))
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	if cycle := a.findCycle(); cycle != nil {
		out = append(out, fmt.Sprintf("dependency cycle %s; fix: remove one of these requirements", strings.Join(cycle, " -> ")))
	}
	return out
}

func (a *App) fileProblems(f *ModulesFile) []string {
	var out []string
	names := f.names()
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		if _, ok := a.known[n]; !ok {
			out = append(out, fmt.Sprintf("unknown module %q in %s (this binary has: %s); fix: correct the name or remove it", n, names[n], strings.Join(a.names, ", ")))
		}
	}
	if f.Edition != "" {
		if _, ok := f.Editions[f.Edition]; !ok {
			eds := make([]string, 0, len(f.Editions))
			for e := range f.Editions {
				eds = append(eds, e)
			}
			sort.Strings(eds)
			out = append(out, fmt.Sprintf("edition %q is not defined under editions: (defined: %s); fix: define it or pick one of those", f.Edition, strings.Join(eds, ", ")))
		}
	}
	return out
}

// enabledSet applies the rules: no file -> everything; an edition -> its
// members; otherwise modules with enabled: true; an explicit enabled wins.
func (a *App) enabledSet(f *ModulesFile) map[string]bool {
	on := map[string]bool{}
	switch {
	case f.Missing:
		for _, n := range a.names {
			on[n] = true
		}
	case f.Edition != "":
		for _, n := range f.Editions[f.Edition] {
			on[n] = true
		}
	}
	for n, e := range f.Modules {
		if e.Enabled != nil {
			on[n] = *e.Enabled
		}
	}
	return on
}

func requirementProblems(known map[string]Module, enabled map[string]bool) []string {
	var out []string
	names := make([]string, 0, len(enabled))
	for n, on := range enabled {
		if on {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		for _, r := range known[n].Requires {
			if !enabled[r] {
				out = append(out, fmt.Sprintf("module %s requires %s, which is disabled; fix: enable %s (modules.%s.enabled: true) or disable %s", n, r, r, r, n))
			}
		}
	}
	return out
}

// order sorts all known modules so that each comes after its requirements;
// ties are broken by name so the order is stable.
func (a *App) order() []string {
	indeg := map[string]int{}
	users := map[string][]string{}
	for _, n := range a.names {
		indeg[n] += 0
		for _, r := range a.known[n].Requires {
			indeg[n]++
			users[r] = append(users[r], n)
		}
	}
	var ready, out []string
	for _, n := range a.names {
		if indeg[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, u := range users[n] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	return out
}

// findCycle returns one cycle as a path (a -> b -> a), or nil.
func (a *App) findCycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		reqs := append([]string(nil), a.known[n].Requires...)
		sort.Strings(reqs)
		for _, r := range reqs {
			switch color[r] {
			case grey:
				for i, s := range stack {
					if s == r {
						found = append(append([]string(nil), stack[i:]...), r)
						return true
					}
				}
			case white:
				if visit(r) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range a.names {
		if color[n] == white && visit(n) {
			return found
		}
	}
	return nil
}

// decodeSettings builds the module's settings: defaults, then the file's
// settings, then the environment; then validates them.
func decodeSettings(m Module, fromFile map[string]any, env config.Env, lookupEnv func(string) (string, bool)) (any, error) {
	if m.Settings == nil {
		if len(fromFile) > 0 {
			return nil, fmt.Errorf("module %s has no settings but modules.%s.settings sets some; fix: remove them", m.Name, m.Name)
		}
		return nil, nil
	}
	target := m.Settings()
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("module %s: Settings must return a pointer to a struct, not %T", m.Name, target)
	}
	input := map[string]any{}
	for k, v := range fromFile {
		input[k] = v
	}
	if err := platformKeys(m.Name, rv.Elem().Type(), fromFile); err != nil {
		return nil, err
	}
	envs := settingsEnv(m.Name, rv.Elem().Type())
	for key, names := range envs {
		for _, name := range names {
			if v, ok := lookupEnv(name); ok && strings.TrimSpace(v) != "" {
				input = setPath(input, strings.Split(key, "."), v)
			}
		}
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:          "yaml",
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook:       config.DecodeHook(),
		Result:           target,
	})
	if err != nil {
		return nil, fmt.Errorf("module %s settings: %w", m.Name, err)
	}
	if err := dec.Decode(input); err != nil {
		return nil, fmt.Errorf("modules.%s.settings: %s; fix: correct modules.yaml or the environment", m.Name, oneLine(err))
	}
	err = config.NormalizeEnums(target, func(f reflect.StructField) string {
		key := settingKey(f)
		return fmt.Sprintf("modules.%s.settings.%s (%s)", m.Name, key, strings.Join(envs[key], " or "))
	})
	if err != nil {
		return nil, fmt.Errorf("%s; fix: correct modules.yaml or the environment", err)
	}
	if v, ok := target.(SettingsValidator); ok {
		if err := v.Validate(env); err != nil {
			return nil, fmt.Errorf("modules.%s.settings: %s", m.Name, oneLine(err))
		}
	}
	return target, nil
}

// settingsEnv maps each settings key to the environment variables that may
// set it: VEZA_<MODULE>_<KEY>, then an `env` tag's name (which wins). The
// fields of a nested struct are keys of their own, their path joined by
// dots (payments.test.webhook_secret, VEZA_<MODULE>_PAYMENTS_TEST_WEBHOOK_SECRET),
// so that the secrets a module groups can still come from the environment.
func settingsEnv(module string, t reflect.Type) map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type, path []string)
	walk = func(t reflect.Type, path []string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			key := append(path[:len(path):len(path)], settingKey(f))
			if nestedSettings(f.Type) {
				walk(f.Type, key)
				continue
			}
			dotted := strings.Join(key, ".")
			out[dotted] = []string{strings.ToUpper("VEZA_" + module + "_" + strings.Join(key, "_"))}
			if e := f.Tag.Get("env"); e != "" {
				out[dotted] = append(out[dotted], e)
			}
		}
	}
	walk(t, nil)
	return out
}

// nestedSettings reports whether a settings field of type t is a group of
// settings rather than one value (time.Time and the like decode from a
// single string).
func nestedSettings(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() != "time"
}

// setPath returns in with v at path, copying the maps on the way (they may
// be the modules file's) and replacing anything that is not a map.
func setPath(in map[string]any, path []string, v any) map[string]any {
	out := make(map[string]any, len(in)+1)
	for k, x := range in {
		out[k] = x
	}
	if len(path) == 1 {
		out[path[0]] = v
		return out
	}
	child, _ := out[path[0]].(map[string]any)
	out[path[0]] = setPath(child, path[1:], v)
	return out
}

// platformKeys refuses, with the fix, module settings that are platform
// configuration (mail_driver, s3_bucket: services every module shares),
// as an older modules.yaml may still set them under a module.
func platformKeys(module string, t reflect.Type, fromFile map[string]any) error {
	own := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		own[settingKey(t.Field(i))] = true
	}
	var moved []string
	for k := range fromFile {
		if !own[k] && config.IsKey(k) {
			moved = append(moved, k)
		}
	}
	if len(moved) == 0 {
		return nil
	}
	sort.Strings(moved)
	return fmt.Errorf("modules.%s.settings sets %s, which is platform configuration now (shared by every module); fix: remove it from modules.yaml and set %s in the environment or config/<APP_ENV>.yaml",
		module, strings.Join(moved, ", "), strings.ToUpper(strings.Join(moved, ", ")))
}

// settingKey is a settings field's key in modules.yaml.
func settingKey(f reflect.StructField) string {
	key := strings.Split(f.Tag.Get("yaml"), ",")[0]
	if key == "" || key == "-" {
		key = strings.ToLower(f.Name)
	}
	return key
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// DefaultSettings decodes m's settings from nothing but its defaults and
// validates them for env; nil when m has no settings.
func DefaultSettings(m Module, env config.Env) (any, error) {
	return decodeSettings(m, nil, env, func(string) (string, bool) { return "", false })
}
