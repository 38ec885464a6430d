package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"stacklab/sim/scenario"
	"stacklab/sim/scenario/diag"
)

//go:embed *.yaml
var files embed.FS

// Info names a built-in scenario and says what it shows.
type Info struct {
	Name    string
	About   string
	AboutZH string // "" when the scenario has no about_zh
}

// Names returns the names of the built-in scenarios, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Source returns the YAML text of a built-in scenario.
func Source(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		msg := fmt.Sprintf("no built-in scenario %q", name)
		if s := diag.Suggest(name, Names()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, fmt.Errorf("%s (built-in: %s)", msg, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Load loads a built-in scenario by name.
func Load(name string) (*scenario.Scenario, error) {
	src, err := Source(name)
	if err != nil {
		return nil, err
	}
	return scenario.Load(name+".yaml", src)
}

// List returns every built-in scenario's name and description.
func List() ([]Info, error) {
	var out []Info
	for _, n := range Names() {
		sc, err := Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Info{Name: n, About: sc.About, AboutZH: sc.AboutZH})
	}
	return out, nil
}
