package view

import (
	"regexp"
	"strings"
	"testing"
)

// TestPageWordsTranslated checks that every word of the page's Chinese
// table is one the script shows through T(…), so that the table and the
// page cannot drift apart.
func TestPageWordsTranslated(t *testing.T) {
	js := viewJS
	i, j := strings.Index(js, "const ZH = {"), strings.Index(js, "const T = ")
	if i < 0 || j < i {
		t.Fatal("view.js has no ZH table before T")
	}
	keys := regexp.MustCompile(`"([^"]+)": "`).FindAllStringSubmatch(js[i:j], -1)
	if len(keys) < 6 {
		t.Fatalf("only %d translated words", len(keys))
	}
	for _, k := range keys {
		if !strings.Contains(js, `T("`+k[1]+`")`) {
			t.Errorf("%q is translated but never shown through T()", k[1])
		}
	}
}
