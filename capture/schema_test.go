package capture

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// schemaKeys lists, in order, the keys SCHEMA.md documents for each kind
// of object. The test fails when the trace writes a key SCHEMA.md does
// not know, or writes keys out of the documented order.
var schemaKeys = map[string][]string{
	"packet": {"time", "type", "vantage", "dir", "id", "len", "src", "dst", "note", "drop", "layers", "malformed"},
	"event":  {"time", "type", "host", "kind", "fd", "proto", "local", "remote", "from", "to", "name", "detail", "packet"},
	"eth":    {"src", "dst", "type"},
	"arp":    {"op", "sender_mac", "sender_ip", "target_mac", "target_ip"},
	"ipv4":   {"src", "dst", "ttl", "id", "df", "mf", "frag", "tos", "len", "proto", "checksum_ok"},
	"tcp":    {"sport", "dport", "flags", "seq", "ack", "seq_raw", "ack_raw", "win", "win_scaled", "analysis", "dup_ack_of", "dup_ack_num", "ack_rtt_us", "acks", "options", "len", "checksum_ok"},
	"udp":    {"sport", "dport", "len", "checksum_ok"},
	"icmp":   {"type", "code", "name", "id", "seq", "mtu", "len", "quoted", "checksum_ok"},
	"ipv6":   {"src", "dst", "hlim", "flow", "tc", "len", "proto", "ext", "frag"},
	"icmp6":  {"type", "code", "name", "id", "seq", "mtu", "pointer", "target", "src_lladdr", "tgt_lladdr", "flags", "len", "quoted", "checksum_ok"},
	"layers": {"eth", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmp6"},
}

// orderedKeys returns the keys of the JSON object in b, in order.
func orderedKeys(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func checkKeys(t *testing.T, where, kind string, keys []string) {
	t.Helper()
	allowed := schemaKeys[kind]
	pos := -1
	for _, k := range keys {
		i := -1
		for j, a := range allowed {
			if a == k {
				i = j
			}
		}
		if i < 0 {
			t.Errorf("%s: %s object has key %q, which SCHEMA.md does not document", where, kind, k)
			continue
		}
		if i < pos {
			t.Errorf("%s: %s object has key %q out of the documented order", where, kind, k)
		}
		pos = i
	}
}

func TestJSONFollowsSchema(t *testing.T) {
	files := []string{"testdata/recorder.jsonl"}
	more, _ := filepath.Glob("trace/testdata/*.jsonl")
	files = append(files, more...)
	doc, err := os.ReadFile("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, keys := range schemaKeys {
		for _, k := range keys {
			if !bytes.Contains(doc, []byte("`"+k+"`")) {
				t.Errorf("SCHEMA.md does not mention `%s`", k)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.HasPrefix(line, "…") {
				continue // the end of a shortened golden file
			}
			where := f + ":" + strconv.Itoa(n+1)
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var typ string
			json.Unmarshal(obj["type"], &typ)
			checkKeys(t, where, typ, orderedKeys(t, []byte(line)))
			if layers, ok := obj["layers"]; ok {
				checkKeys(t, where, "layers", orderedKeys(t, layers))
				var ls map[string]json.RawMessage
				json.Unmarshal(layers, &ls)
				for name, l := range ls {
					checkKeys(t, where, name, orderedKeys(t, l))
				}
			}
		}
	}
}
