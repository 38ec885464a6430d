package trace

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// File magic numbers: pcap (microsecond and nanosecond, either byte
// order) and the pcapng section header block type.
const (
	magicPcapUS   = 0xa1b2c3d4
	magicPcapNS   = 0xa1b23c4d
	magicPcapngBT = 0x0a0d0d0a
)

// linuxSLLLen is the length of a Linux "cooked" capture header
// (LINKTYPE_LINUX_SLL); its protocol field is at offset 14.
const linuxSLLLen = 16

// packetSource reads frames from a pcap or pcapng file.
type packetSource interface {
	next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, opts *pcapgo.NgPacketOptions, err error)
}

type pcapSource struct{ r *pcapgo.Reader }

func (s pcapSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, *pcapgo.NgPacketOptions, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	return data, ci, s.r.LinkType(), nil, err
}

type pcapngSource struct {
	r    *pcapgo.NgReader
	opts pcapgo.NgPacketOptions
}

func (s *pcapngSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, *pcapgo.NgPacketOptions, error) {
	data, ci, opts, err := s.r.ZeroCopyReadPacketDataWithOptions()
	if err != nil {
		return nil, ci, 0, nil, err
	}
	s.opts = opts
	link := s.r.LinkType()
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = lt
		}
	}
	return data, ci, link, &s.opts, nil
}

// openSource detects pcap or pcapng from the first bytes of r.
func openSource(r io.Reader) (packetSource, *pcapgo.NgReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil {
		return nil, nil, fmt.Errorf("not a pcap or pcapng file: %d bytes", len(head))
	}
	le, be := binary.LittleEndian.Uint32(head), binary.BigEndian.Uint32(head)
	switch {
	case le == magicPcapngBT:
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, nil, fmt.Errorf("pcapng: %v", err)
		}
		return &pcapngSource{r: ng}, ng, nil
	case le == magicPcapUS || be == magicPcapUS || le == magicPcapNS || be == magicPcapNS:
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("pcap: %v", err)
		}
		return pcapSource{pr}, nil, nil
	}
	return nil, nil, fmt.Errorf("not a pcap or pcapng file (magic %08x)", be)
}

// ReadOptions configure [Read].
type ReadOptions struct {
	Options
	// Summaries, when not nil, is called with each packet's summary. The
	// Summary is only valid during the call.
	Summaries func(*Summary)
	// Interface, when not nil, is called with the name and description
	// of each pcapng interface at its first packet.
	Interface func(name, description string)
}

// Read traces a pcap or pcapng stream into w (which may be nil), as the
// Recorder traces a simulation: times since the first packet, relative
// sequence numbers, checksums verified, interface names, directions,
// packet ids and comments taken from pcapng options, host names from its
// name resolution blocks. A packet that cannot be decoded gets a
// "malformed" line; a file that is cut short or corrupt ends the trace
// with an error saying where.
func Read(r io.Reader, w io.Writer, o ReadOptions) (err error) {
	defer func() {
		// The pcap readers come from gopacket; a panic on a corrupt
		// file there must not take the caller down.
		if v := recover(); v != nil {
			err = fmt.Errorf("corrupt capture file: reader failed: %v", v)
		}
	}()
	src, ng, err := openSource(r)
	if err != nil {
		return err
	}
	o.Checksums = true
	t := New(w, o.Options)
	var conns *Conns
	if w != nil && o.Format == Text {
		conns = NewConns(0)
	}
	var (
		sum      Summary
		frame    Frame
		nnames   int
		sll      []byte
		seenIntf map[int]bool
	)
	for n := uint64(1); ; n++ {
		data, ci, link, opts, rerr := src.next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				rerr = errors.New("file cut short in the middle of a packet")
			}
			err = fmt.Errorf("packet %d: %v", n, rerr)
			break
		}
		if ng != nil && ng.NNames() > nnames {
			for ; nnames < ng.NNames(); nnames++ {
				learnNames(t, ng, nnames)
			}
		}
		frame = Frame{Time: ci.Timestamp, ID: n, Data: data, OrigLen: ci.Length}
		switch link {
		case layers.LinkTypeEthernet:
			frame.Link = LinkEthernet
		case layers.LinkTypeRaw, layers.LinkTypeIPv4, 12: // 12: LINKTYPE_RAW on OpenBSD-era files
			frame.Link = LinkRawIP
		case layers.LinkTypeLinuxSLL:
			frame.Link = LinkRawIP
			if len(data) < linuxSLLLen || binary.BigEndian.Uint16(data[14:]) != 0x0800 {
				sll = sll[:0]
			} else {
				sll = append(sll[:0], data[linuxSLLLen:]...)
			}
			frame.Data = sll
			frame.OrigLen = max(0, ci.Length-linuxSLLLen)
		default:
			frame.Link = 0
		}
		if ng != nil && o.Interface != nil && !seenIntf[ci.InterfaceIndex] {
			if seenIntf == nil {
				seenIntf = map[int]bool{}
			}
			seenIntf[ci.InterfaceIndex] = true
			if intf, ierr := ng.Interface(ci.InterfaceIndex); ierr == nil {
				o.Interface(intf.Name, intf.Description)
			}
		}
		if ng != nil {
			// stacklab names interfaces "host:ifname"; other writers'
			// names ("eth0") say nothing about which host it was.
			if intf, ierr := ng.Interface(ci.InterfaceIndex); ierr == nil && strings.Contains(intf.Name, ":") {
				frame.Vantage = intf.Name
				frame.Host, _, _ = strings.Cut(intf.Name, ":")
			}
		}
		if opts != nil {
			if opts.PacketID != nil {
				frame.ID = *opts.PacketID
			}
			if opts.Flags != nil {
				switch opts.Flags.Direction {
				case pcapgo.NgEpbFlagDirectionInbound:
					frame.Dir = DirIn
				case pcapgo.NgEpbFlagDirectionOutbound:
					frame.Dir = DirOut
				}
			}
			if len(opts.Comments) > 0 {
				frame.Note = strings.Join(opts.Comments, "; ")
			}
		}
		if frame.Link == 0 {
			frame.Link = LinkRawIP
			frame.Data = nil
			frame.Note = fmt.Sprintf("unsupported link type %d", link)
		}
		var sp *Summary
		if o.Summaries != nil || conns != nil {
			sp = &sum
		}
		t.Frame(&frame, sp)
		if conns != nil {
			conns.Add(sp)
		}
		if o.Summaries != nil {
			o.Summaries(sp)
		}
	}
	if list := conns.List(); len(list) > 0 {
		// Like `stacklab run`, end the text trace with the connections.
		t.Flush()
		fmt.Fprintf(w, "\nconnections:\n")
		for i := range list {
			fmt.Fprintf(w, "  %s\n", list[i].String())
		}
	}
	if ferr := t.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

func learnNames(t *Tracer, ng *pcapgo.NgReader, i int) {
	rec, err := ng.Name(i)
	if err != nil || len(rec.Names) == 0 {
		return
	}
	if ip, ok := rec.Addr.(*pcapgo.NgIPAddress); ok && ip.Addr.IsValid() {
		if _, known := t.names.get(ip.Addr); !known {
			t.SetName(ip.Addr, rec.Names[0])
		}
	}
}

// TraceFile writes the trace of the pcap or pcapng file at path to w in
// the given format.
func TraceFile(path string, w io.Writer, format Format) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := Read(f, w, ReadOptions{Options: Options{Format: format}}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadFile returns the summaries of every packet in the pcap or pcapng
// file at path. On a corrupt or truncated file it returns the packets
// read so far and an error.
func ReadFile(path string) ([]Summary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Summary
	err = Read(bytes.NewReader(data), nil, ReadOptions{Summaries: func(s *Summary) { out = append(out, *s) }})
	if err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
