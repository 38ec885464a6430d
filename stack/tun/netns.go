package tun

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// NetnsDir is where ip-netns(8) keeps its named network namespaces.
const NetnsDir = "/run/netns"

// InNetns runs fn on an OS thread switched into the network namespace
// NAME (a file in [NetnsDir], as created by `ip netns add NAME`), and
// switches the thread back afterwards. An empty name runs fn in the
// current namespace.
//
// Sockets, TUN devices and processes that fn creates belong to that
// namespace for their whole life and may be used from any goroutine once
// InNetns returns. Goroutines that fn starts do not inherit the namespace.
// If the thread cannot be switched back, it is retired rather than reused.
func InNetns(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	if strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return fmt.Errorf("netns %q: %w", name, ErrNoNetns)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is unlocked only once it is back in its own namespace;
		// otherwise the goroutine exits locked and the runtime retires it.
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(filepath.Join(NetnsDir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			if errors.Is(err, fs.ErrNotExist) {
				err = ErrNoNetns
			}
			errc <- fmt.Errorf("netns %q: %w", name, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			if errors.Is(err, unix.EPERM) {
				err = ErrNeedRoot
			}
			errc <- fmt.Errorf("netns %q: enter: %w", name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns %q: leave: %w", name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
