package tuntest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"stacklab/stack/tun"
)

// Require skips the test unless a TUN device can be created (root,
// /dev/net/tun, ip(8)), saying which is missing.
func Require(t testing.TB) {
	t.Helper()
	if err := tun.Check(""); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// Netns creates a network namespace named stacklab-test-<random> with its
// loopback up, and deletes it when the test ends. It calls [Require] first.
func Netns(t testing.TB) string {
	t.Helper()
	Require(t)
	var b [4]byte
	rand.Read(b[:])
	name := "stacklab-test-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	return name
}

// Exec runs a program inside the namespace with `ip netns exec`, killed
// when timeout passes, and returns its standard output. Standard error
// goes into the error.
func Exec(t testing.TB, netns string, timeout time.Duration, stdin []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", netns, name}, args...)...)
	// After the command exits, its output may still be in the pipe; on a
	// loaded machine (CI under -race) draining 64 KiB can take more than a
	// second, so allow ten before giving up on the I/O.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			msg = "timed out after " + timeout.String() + ": " + msg
		}
		return stdout.Bytes(), &ExecError{Cmd: name + " " + strings.Join(args, " "), Err: err, Stderr: msg}
	}
	return stdout.Bytes(), nil
}

// ExecError is a failed [Exec].
type ExecError struct {
	Cmd    string
	Err    error
	Stderr string
}

func (e *ExecError) Error() string { return e.Cmd + ": " + e.Err.Error() + ": " + e.Stderr }

func (e *ExecError) Unwrap() error { return e.Err }

// Links returns the interface names in the namespace (`ip -o link`).
func Links(t testing.TB, netns string) []string {
	t.Helper()
	out, err := exec.Command("ip", "-n", netns, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s link show: %v: %s", netns, err, out)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			n := strings.TrimSuffix(f[1], ":")
			if i := strings.IndexByte(n, '@'); i >= 0 {
				n = n[:i]
			}
			names = append(names, n)
		}
	}
	return names
}
