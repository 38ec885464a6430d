package spec

import (
	"strings"
	"testing"
)

func TestParseReorder(t *testing.T) {
	f, err := parseFault("reorder 3rd client > server [.] after 2 on client-server", []string{"client", "server"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Action != FaultReorder || f.N != 3 || f.After != 2 || f.Link != "client-server" || f.Pattern.Flags != "." {
		t.Errorf("got %+v", f)
	}
	for _, bad := range []string{
		"reorder 3rd client > server [.]",
		"reorder 3rd client > server [.] after 0",
		"reorder 3rd client > server [.] after x",
	} {
		if _, err := parseFault(bad, []string{"client", "server"}); err == nil || !strings.Contains(err.Error(), "reorder") {
			t.Errorf("%q: error %v, want one about reorder", bad, err)
		}
	}
	if _, err := parseFault("reordr 3rd client > server [.] after 2", []string{"client", "server"}); err == nil || !strings.Contains(err.Error(), `did you mean "reorder"?`) {
		t.Errorf("typo: %v", err)
	}
}
