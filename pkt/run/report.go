package run

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Expand turns files and directories into the scripts to run: a
// directory stands for every *.pkt below it, in name order.
func Expand(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".pkt") {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no .pkt scripts in this directory", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// Summary counts a run's outcomes.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Errors  int `json:"errors"` // scripts that did not parse
}

// Exit is the command's exit code: 2 when a script did not parse, 1 when
// one failed, else 0.
func (s Summary) Exit() int {
	switch {
	case s.Errors > 0:
		return 2
	case s.Failed > 0:
		return 1
	}
	return 0
}

// Report runs scripts and writes one result each (text or JSON lines)
// and, for more than one script, the summary line.
func Report(w io.Writer, files []string, o Options, asJSON bool) Summary {
	var sum Summary
	enc := json.NewEncoder(w)
	for _, f := range files {
		res, err := File(f, o)
		if err != nil {
			sum.Errors++
			if asJSON {
				enc.Encode(map[string]string{"file": f, "status": "ERROR", "message": err.Error()})
			} else {
				fmt.Fprintf(w, "ERROR %v\n", err)
			}
			continue
		}
		switch res.Status {
		case Pass:
			sum.Passed++
		case Fail:
			sum.Failed++
		case Skip:
			sum.Skipped++
		}
		if asJSON {
			enc.Encode(res)
			continue
		}
		writeText(w, res)
	}
	if asJSON {
		enc.Encode(map[string]Summary{"summary": sum})
	} else if len(files) > 1 {
		fmt.Fprintf(w, "%d passed, %d failed, %d skipped", sum.Passed, sum.Failed, sum.Skipped)
		if sum.Errors > 0 {
			fmt.Fprintf(w, ", %d did not parse", sum.Errors)
		}
		fmt.Fprintln(w)
	}
	return sum
}

func writeText(w io.Writer, res Result) {
	switch res.Status {
	case Pass:
		fmt.Fprintf(w, "PASS %s\n", res.File)
	case Skip:
		fmt.Fprintf(w, "SKIP %s: %s\n", res.File, res.Message)
	case Fail:
		if strings.HasPrefix(res.Message, res.File+":") {
			fmt.Fprintf(w, "FAIL %s\n", res.Message)
		} else if res.Line > 0 {
			fmt.Fprintf(w, "FAIL %s:%d: %s\n", res.File, res.Line, res.Message)
		} else {
			fmt.Fprintf(w, "FAIL %s: %s\n", res.File, res.Message)
		}
		if res.Expected != "" {
			fmt.Fprintf(w, "    expected: %s\n", res.Expected)
		}
		if res.Actual != "" {
			fmt.Fprintf(w, "    actual:   %s\n", res.Actual)
		}
		if len(res.Trace) > 0 {
			fmt.Fprintf(w, "    last trace events:\n")
			for _, l := range res.Trace {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
	for _, f := range res.Files {
		fmt.Fprintf(w, "    wrote %s\n", f)
	}
}
