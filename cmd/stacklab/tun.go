package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"stacklab/internal/tunapp"
)

func init() { registerCommand(newTunCmd) }

func newTunCmd(s *Streams) *cobra.Command {
	f := tunapp.Flags{Version: version}
	cmd := &cobra.Command{
		Use:   "tun",
		Short: "Run the stack on a TUN/TAP device, with the Linux kernel as its peer",
		Long: `tun attaches a stacklab stack to a new TUN (raw IP) or TAP (Ethernet)
device and serves or dials through it, so the kernel's TCP and programs such
as curl, nc and ping are its peers. It needs root (CAP_NET_ADMIN) and
/dev/net/tun. The device goes away when stacklab exits (Ctrl-C).

  sudo stacklab tun --serve http          # then: curl http://10.99.0.2/
  sudo stacklab tun --serve echo --loss 2% --delay 5ms -o out
  sudo stacklab tun --get http://10.99.0.1:8000/ --sha256
  sudo stacklab tun --connect 10.99.0.1:7 < file

Servers: echo (7), discard (9), http (80: / and /download?bytes=N,
POST /upload), udp-echo (7). The stack always answers ping.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// A second signal kills the process the usual way.
			context.AfterFunc(ctx, stop)
			if code := tunapp.Main(ctx, &f, s.In, s.Out, s.Err); code != exitOK {
				return &exitError{code: code} // tunapp.Main printed the message
			}
			return nil
		},
	}
	f.Register(cmd.Flags())
	return cmd
}
