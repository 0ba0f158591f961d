package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ModulesFile is modules.yaml: which modules a deployment runs, and their
// settings.
//
//	edition: community          # optional: a preset from editions
//	editions:
//	  community: [auth, tracks, social]
//	modules:
//	  tracks:
//	    enabled: true           # wins over the edition
//	    queue_weight: 3         # share of the worker for this module's queue
//	    settings:
//	      max_upload_mb: 200
type ModulesFile struct {
	// Path is where the file was read from; empty when it did not exist.
	Path     string                 `yaml:"-"`
	Edition  string                 `yaml:"edition"`
	Editions map[string][]string    `yaml:"editions"`
	Modules  map[string]ModuleEntry `yaml:"modules"`
	// Missing is true when no file was found at the default path: then every
	// module the binary contains is enabled with its default settings.
	Missing bool `yaml:"-"`
}

// ModuleEntry is one module's section.
type ModuleEntry struct {
	// Enabled, when set, wins over the edition.
	Enabled     *bool          `yaml:"enabled"`
	QueueWeight int            `yaml:"queue_weight"`
	Settings    map[string]any `yaml:"settings"`
}

// ReadModulesFile reads path. When path is the default and does not exist,
// it returns a Missing file instead of an error; a path the operator named
// must exist.
func ReadModulesFile(path string, named bool) (*ModulesFile, error) {
	if path == "" {
		path = "modules.yaml"
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !named {
		return &ModulesFile{Missing: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("modules file: %w", err)
	}
	f, err := ParseModulesFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// ParseModulesFile decodes modules.yaml strictly: unknown keys are errors,
// so a typo cannot silently switch something off.
func ParseModulesFile(data []byte) (*ModulesFile, error) {
	var f ModulesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", strings.Join(strings.Fields(err.Error()), " "))
	}
	for name, e := range f.Modules {
		if e.QueueWeight < 0 {
			return nil, fmt.Errorf("modules.%s.queue_weight must be positive", name)
		}
	}
	return &f, nil
}

// names returns the module names mentioned anywhere in the file, sorted,
// each with where it appears.
func (f *ModulesFile) names() map[string]string {
	out := map[string]string{}
	for name := range f.Modules {
		out[name] = "modules." + name
	}
	eds := make([]string, 0, len(f.Editions))
	for ed := range f.Editions {
		eds = append(eds, ed)
	}
	sort.Strings(eds)
	for _, ed := range eds {
		for _, name := range f.Editions[ed] {
			if _, seen := out[name]; !seen {
				out[name] = "editions." + ed
			}
		}
	}
	return out
}
