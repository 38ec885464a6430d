package tun

import (
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"stacklab/stack"
)

// pipeDevice returns a Device whose file is the write end of a pipe, its
// writer started as Open starts it, and the read end.
func pipeDevice(t *testing.T) (*Device, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	d := newDevice(Config{}, "pipe0", w)
	d.startWriter()
	return d, r
}

// TestSendQueuesBesideTheWrite checks that Send queues a packet and
// returns while the write waits (here a pipe whose reader has not read
// yet and whose buffer holds fewer than the packets sent), that the
// writer then writes every packet whole and in order, and that Close
// writes what is still queued before it closes the file.
func TestSendQueuesBesideTheWrite(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	d, r := pipeDevice(t)
	const n, size = 150, 1400 // 210 kB: more than a pipe holds (64 KiB)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		pkt := make([]byte, size)
		for i := range n {
			pkt[0], pkt[size-1] = byte(i), byte(i)
			d.Send(stack.Packet{Data: pkt}) // Send copies: pkt is reused
		}
	}()
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		go io.Copy(io.Discard, r) // let the test end
		t.Fatal("Send waited for the write to the device")
	}
	if st := d.Stats(); st.TxPackets != n {
		t.Errorf("TxPackets %d after Send, want %d", st.TxPackets, n)
	}
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, size)
		for i := range n {
			if _, err := io.ReadFull(r, buf); err != nil {
				got <- err
				return
			}
			if buf[0] != byte(i) || buf[size-1] != byte(i) {
				t.Errorf("packet %d read as packet %d", i, buf[0])
			}
		}
		got <- nil
	}()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("reading the packets back: %v", err)
	}
	if st := d.Stats(); st.TxPackets != n || st.TxErrors != 0 || st.TxDropped != 0 {
		t.Errorf("stats %+v", st)
	}
	d.Send(stack.Packet{Data: make([]byte, size)})
	if st := d.Stats(); st.TxDropped != 1 {
		t.Errorf("send after Close: TxDropped %d, want 1", st.TxDropped)
	}
}

// TestSendWritesWithOneCPU checks the other way: with GOMAXPROCS 1
// there is no writer goroutine, and Send writes the packet before it
// returns.
func TestSendWritesWithOneCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	d, r := pipeDevice(t)
	if !d.txSync {
		t.Fatal("a writer goroutine with one CPU")
	}
	for i := range 3 {
		d.Send(stack.Packet{Data: []byte{byte(i), 1, 2, 3}})
		buf := make([]byte, 4)
		if _, err := io.ReadFull(r, buf); err != nil || buf[0] != byte(i) {
			t.Fatalf("packet %d: read %v, %v", i, buf, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.TxPackets != 3 || st.TxBytes != 12 || st.TxErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}
