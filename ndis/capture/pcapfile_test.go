package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// exportRing records every test frame (and one frame longer than the
// ring's snap length) with distinct nanosecond timestamps.
func exportRing(t testing.TB) *Ring {
	r := NewRing(RingConfig{Bytes: 1 << 16, Frames: 64, SnapLen: 1000})
	names := make([]string, 0, len(testFrames))
	for name := range testFrames {
		names = append(names, name)
	}
	sort.Strings(names)
	ts := time.Unix(1700000000, 123456789)
	for i, name := range names {
		r.Record(ts.Add(time.Duration(i)*1001001*time.Nanosecond), frame(t, name))
	}
	r.Record(ts.Add(time.Second), frameWithNumber(99, 1500)) // truncated to 1000
	return r
}

func ringFrames(r *Ring) []Frame {
	var frames []Frame
	for f := range r.All(nil) {
		f.Data = slices.Clone(f.Data)
		frames = append(frames, f)
	}
	return frames
}

func TestPcapRoundTrip(t *testing.T) {
	for _, nanos := range []bool{false, true} {
		r := exportRing(t)
		want := ringFrames(r)
		var file bytes.Buffer
		if err := WritePcap(&file, r.SnapLen(), nanos, r.All(nil)); err != nil {
			t.Fatal(err)
		}
		resolution := time.Microsecond
		if nanos {
			resolution = time.Nanosecond
		}

		// gopacket's reader, independent of ours.
		pr, err := pcapgo.NewReader(bytes.NewReader(file.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if pr.LinkType() != layers.LinkTypeEthernet || pr.Snaplen() != 1000 {
			t.Fatalf("pcapgo sees link type %v snap length %d", pr.LinkType(), pr.Snaplen())
		}
		for i, w := range want {
			data, ci, err := pr.ReadPacketData()
			if err != nil {
				t.Fatalf("nanos=%v: pcapgo frame %d: %v", nanos, i+1, err)
			}
			if !bytes.Equal(data, w.Data) || ci.Length != w.OrigLen || !ci.Timestamp.Equal(w.Time.Truncate(resolution)) {
				t.Fatalf("nanos=%v: pcapgo frame %d: %d/%d bytes at %v, want %d/%d at %v",
					nanos, i+1, len(data), ci.Length, ci.Timestamp, len(w.Data), w.OrigLen, w.Time)
			}
		}
		if _, _, err := pr.ReadPacketData(); err != io.EOF {
			t.Fatalf("pcapgo after the last frame: %v", err)
		}

		got, err := ReadFrames(bytes.NewReader(file.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		checkFrames(t, got, want, resolution)
	}
}

func checkFrames(t *testing.T, got, want []Frame, resolution time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Number != uint64(i+1) || !bytes.Equal(g.Data, w.Data) || g.OrigLen != w.OrigLen || !g.Time.Equal(w.Time.Truncate(resolution)) {
			t.Fatalf("frame %d: #%d %d/%d bytes at %v, want %d/%d at %v",
				i+1, g.Number, len(g.Data), g.OrigLen, g.Time, len(w.Data), w.OrigLen, w.Time)
		}
	}
}

func TestPcapngRoundTrip(t *testing.T) {
	r := exportRing(t)
	want := ringFrames(r)
	ifc := PcapngInterface{Name: "AX88179 (virtual)", Description: "webminiport virtual adapter", SnapLen: r.SnapLen(), Received: 1234, Dropped: 56}
	var file bytes.Buffer
	if err := WritePcapng(&file, ifc, r.All(nil)); err != nil {
		t.Fatal(err)
	}

	nr, err := pcapgo.NewNgReader(bytes.NewReader(file.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		data, ci, err := nr.ReadPacketData()
		if err != nil {
			t.Fatalf("pcapgo frame %d: %v", i+1, err)
		}
		if !bytes.Equal(data, w.Data) || ci.Length != w.OrigLen || !ci.Timestamp.Equal(w.Time) {
			t.Fatalf("pcapgo frame %d: %d/%d bytes at %v, want %d/%d at %v", i+1, len(data), ci.Length, ci.Timestamp, len(w.Data), w.OrigLen, w.Time)
		}
	}
	if _, _, err := nr.ReadPacketData(); err != io.EOF {
		t.Fatalf("pcapgo after the last frame: %v", err)
	}
	pi, err := nr.Interface(0)
	if err != nil {
		t.Fatal(err)
	}
	if nr.NInterfaces() != 1 || pi.Name != ifc.Name || pi.Description != ifc.Description || pi.LinkType != layers.LinkTypeEthernet ||
		pi.SnapLength != 1000 || pi.Statistics.PacketsReceived != 1234 || pi.Statistics.PacketsDropped != 56 {
		t.Fatalf("pcapgo interface %+v", pi)
	}

	fr, err := NewFileReader(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var got []Frame
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Data = slices.Clone(f.Data)
		got = append(got, f)
	}
	checkFrames(t, got, want, time.Nanosecond)
	ifs := fr.Interfaces()
	if fr.Format() != FormatPcapng || len(ifs) != 1 || ifs[0].Name != ifc.Name || ifs[0].LinkType != 1 ||
		ifs[0].SnapLen != 1000 || ifs[0].Received != 1234 || ifs[0].Dropped != 56 {
		t.Fatalf("format %v, interfaces %+v", fr.Format(), ifs)
	}
}

// goldenPcap is a big-endian, nanosecond pcap file with one 4-byte frame
// of a 60-byte original, written out by hand.
const goldenPcap = `
	a1 b2 3c 4d  00 02 00 04  00 00 00 00  00 00 00 00  00 00 ff ff  00 00 00 01   # header: ns, v2.4, snap 65535, Ethernet
	65 53 f1 00  07 5b cd 15  00 00 00 04  00 00 00 3c                            # 1700000000.123456789, 4 of 60 bytes
	de ad be ef
`

// goldenPcapng has two sections: a little-endian one with an interface in
// milliseconds and a 100 s offset, an enhanced packet block, a name
// resolution block to skip, a simple packet block and statistics; then a
// big-endian one with a default (microsecond) interface and an obsolete
// packet block. Block offsets: 0, 28, 80, 120, 136, 160 | 212, 240, 260.
const goldenPcapng = `
	0a 0d 0d 0a  1c 00 00 00  4d 3c 2b 1a  01 00 00 00  ff ff ff ff ff ff ff ff  1c 00 00 00   # SHB, LE
	01 00 00 00  34 00 00 00  01 00 00 00  00 01 00 00                                          # IDB: Ethernet, snap 256
	02 00 04 00  65 74 68 30                                                                    # if_name "eth0"
	09 00 01 00  03 00 00 00                                                                    # if_tsresol 10^-3
	0e 00 08 00  64 00 00 00 00 00 00 00                                                        # if_tsoffset 100 s
	00 00 00 00  34 00 00 00                                                                    # end, trailer
	06 00 00 00  28 00 00 00  00 00 00 00  8b 01 00 00  7b 68 e5 cf  05 00 00 00  3c 00 00 00   # EPB: 1700000000123 ms, 5 of 60
	01 02 03 04 05 00 00 00  28 00 00 00
	04 00 00 00  10 00 00 00  00 00 00 00  10 00 00 00                                          # NRB: end of records only
	03 00 00 00  18 00 00 00  08 00 00 00  aa bb cc dd ee ff 00 11  18 00 00 00                 # SPB: 8 bytes
	05 00 00 00  34 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00                             # ISB for interface 0
	04 00 08 00  07 00 00 00 00 00 00 00                                                        # isb_ifrecv 7
	05 00 08 00  02 00 00 00 00 00 00 00                                                        # isb_ifdrop 2
	00 00 00 00  34 00 00 00
	0a 0d 0d 0a  00 00 00 1c  1a 2b 3c 4d  00 01 00 00  ff ff ff ff ff ff ff ff  00 00 00 1c   # SHB, BE
	00 00 00 01  00 00 00 14  00 01 00 00  00 00 00 00  00 00 00 14                             # IDB: Ethernet, no options
	00 00 00 02  00 00 00 24  00 00 00 00  00 00 00 00  00 0f 42 41  00 00 00 04  00 00 00 04   # PB: 1.000001 s, 4 bytes
	ca fe ba be  00 00 00 24
`

func TestReadHandWrittenPcap(t *testing.T) {
	frames, err := ReadFrames(bytes.NewReader(unhex(t, goldenPcap)))
	if err != nil {
		t.Fatal(err)
	}
	want := []Frame{{Number: 1, Time: time.Unix(1700000000, 123456789), OrigLen: 60, Data: []byte{0xde, 0xad, 0xbe, 0xef}}}
	checkFrames(t, frames, want, time.Nanosecond)
}

func TestReadHandWrittenPcapng(t *testing.T) {
	fr, err := NewFileReader(bytes.NewReader(unhex(t, goldenPcapng)))
	if err != nil {
		t.Fatal(err)
	}
	var frames []Frame
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Data = slices.Clone(f.Data)
		frames = append(frames, f)
	}
	checkFrames(t, frames, []Frame{
		{Number: 1, Time: time.Unix(1700000100, 123000000), OrigLen: 60, Data: []byte{1, 2, 3, 4, 5}},
		{Number: 2, Time: time.Unix(0, 0), OrigLen: 8, Data: []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11}},
		{Number: 3, Time: time.Unix(1, 1000), OrigLen: 4, Data: []byte{0xca, 0xfe, 0xba, 0xbe}},
	}, time.Nanosecond)
	ifs := fr.Interfaces()
	want := []CaptureInterface{
		{Name: "eth0", LinkType: 1, SnapLen: 256, Received: 7, Dropped: 2},
		{Name: "", LinkType: 1, SnapLen: 0, Received: -1, Dropped: -1},
	}
	if len(ifs) != 2 {
		t.Fatalf("interfaces %+v", ifs)
	}
	for i := range want {
		g := ifs[i]
		if g.Name != want[i].Name || g.LinkType != want[i].LinkType || g.SnapLen != want[i].SnapLen ||
			g.Received != want[i].Received || g.Dropped != want[i].Dropped {
			t.Errorf("interface %d: %+v, want %+v", i, g, want[i])
		}
	}
}

// patch returns a copy of b with the bytes at off replaced by hex.
func patch(t *testing.T, b []byte, off int, hex string) []byte {
	c := slices.Clone(b)
	copy(c[off:], unhex(t, hex))
	return c
}

func TestReadCorruptFilesSayWhereAndWhat(t *testing.T) {
	pcap := unhex(t, goldenPcap)
	ng := unhex(t, goldenPcapng)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "capture file: empty file"},
		{"short magic", []byte{0xa1, 0xb2}, "capture file: truncated: the file ends after 2 of 4 magic bytes"},
		{"not a capture", []byte("GIF89a"), "capture file: not a pcap or pcapng file (magic 47494638)"},
		{"pcap header cut", pcap[:10], "pcap file header at offset 0: truncated: the file ends after 10 of 24 bytes of the file header"},
		{"pcap version 3", patch(t, pcap, 4, "00 03"), "pcap file header at offset 0: version 3.4, want 2.x"},
		{"pcap Linux cooked", patch(t, pcap, 20, "00 00 00 71"),
			"pcap file header at offset 0: link type 113 (Linux cooked (SLL)) is not Ethernet (1); only Ethernet frames can be replayed"},
		{"pcap record header cut", append(slices.Clone(pcap), 1, 2, 3, 4, 5),
			"pcap record 2 at offset 44: truncated: the file ends after 5 of 16 bytes of the record header"},
		{"pcap data cut", pcap[:len(pcap)-1], "pcap record 1 at offset 24: truncated: the file ends after 3 of 4 bytes of captured data"},
		{"pcap huge record", patch(t, pcap, 32, "ff ff ff ff"), "pcap record 1 at offset 24: captured length 4294967295 is above the 262144-byte limit"},
		{"pcapng bad byte order", patch(t, ng, 8, "11 22 33 44"),
			"pcapng block 1 at offset 0: Section Header Block: byte-order magic 11223344 is not 1a2b3c4d in either order"},
		{"pcapng short section header", patch(t, ng, 4, "0c 00 00 00"), "pcapng block 1 at offset 0: Section Header Block: length 12 is below the minimum of 28"},
		{"pcapng version 2", patch(t, ng, 12, "02 00"), "pcapng block 1 at offset 0: Section Header Block: version 2.0, want 1.x"},
		{"pcapng option past block", patch(t, ng, 44, "02 00 c8 00"),
			"pcapng block 2 at offset 28: Interface Description Block: option 2 of 200 bytes runs past the end of the block"},
		{"pcapng bad tsresol", patch(t, ng, 52, "09 00 02 00"),
			"pcapng block 2 at offset 28: Interface Description Block: if_tsresol has 2 bytes, want 1"},
		{"pcapng length not a multiple of 4", patch(t, ng, 84, "29 00 00 00"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: length 41 is not a multiple of 4"},
		{"pcapng length below minimum", patch(t, ng, 84, "08 00 00 00"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: length 8 is below the minimum of 12"},
		{"pcapng length above limit", patch(t, ng, 84, "fc ff ff ff"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: length 4294967292 is above the 8388608-byte limit"},
		{"pcapng trailer mismatch", patch(t, ng, 116, "00 00 00 00"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: trailing length 0 does not match the leading length 40"},
		{"pcapng block cut", ng[:100], "pcapng block 3 at offset 80: truncated: the file ends after 20 of 40 bytes of the Enhanced Packet Block"},
		{"pcapng block header cut", append(slices.Clone(ng), 6, 0), "pcapng block 10 at offset 296: truncated: the file ends after 2 of 8 bytes of the block header"},
		{"pcapng caplen past block", patch(t, ng, 100, "64 00 00 00"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: captured length 100 runs past the block (8 bytes left)"},
		{"pcapng unknown interface", patch(t, ng, 88, "05 00 00 00"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: refers to interface 5, but the section defines 1"},
		{"pcapng Linux cooked", patch(t, ng, 36, "71 00"),
			"pcapng block 3 at offset 80: Enhanced Packet Block: interface 0 has link type 113 (Linux cooked (SLL)), not Ethernet (1); only Ethernet frames can be replayed"},
		{"pcapng interfaces start over per section", patch(t, ng, 268, "00 01"),
			"pcapng block 9 at offset 260: Packet Block: refers to interface 1, but the section defines 1"},
	}
	for _, c := range cases {
		_, err := ReadFrames(bytes.NewReader(c.file))
		var fe *FileError
		if !errors.As(err, &fe) || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}

func TestReadFramesReturnsFramesBeforeAnError(t *testing.T) {
	pcap := unhex(t, goldenPcap)
	file := append(slices.Clone(pcap), pcap[24:30]...) // a second record cut short
	frames, err := ReadFrames(bytes.NewReader(file))
	if len(frames) != 1 || err == nil {
		t.Fatalf("%d frames, error %v; want the first frame and an error", len(frames), err)
	}
}

// TestTsharkReadsExports has Wireshark's own reader and dissectors check
// what we write: both formats open, the interface name arrives, every
// checksum the builders and the hand-written frames carry is good, and
// tshark names and describes frames as our summaries do where the two
// are meant to agree.
func TestTsharkReadsExports(t *testing.T) {
	// LookPath also fails where processes cannot be started (js/wasm).
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skipf("no tshark to run: %v", err)
	}
	r := NewRing(RingConfig{Bytes: 1 << 16, Frames: 64})
	names := []string{"arp_request", "arp_reply", "arp_announcement", "arp_gratuitous", "arp_probe", "tcp_synack",
		"tcp6_pshack", "dns_query", "dns_response", "dns_nxdomain", "dns_tcp", "icmp6_echo", "icmp6_ns", "icmp6_na",
		"icmp_unreachable", "ipv4_fragment"}
	frames := map[string][]byte{}
	for _, n := range names {
		frames[n] = frame(t, n)
	}
	buf := make([]byte, 1514)
	n, _ := BuildARPRequest(buf, macClient, ipClient, ipPeer)
	frames["built_arp"] = slices.Clone(buf[:n])
	n, _ = BuildEchoRequest(buf, &EchoRequest{SrcMAC: macClient, DstMAC: macPeer, SrcIP: ipClient, DstIP: ipPeer, ID: 7, Seq: 9, PayloadLen: 1472})
	frames["built_ping"] = slices.Clone(buf[:n])
	n, _ = BuildDHCPDiscover(buf, &DHCPDiscover{ClientMAC: macClient, XID: 0xdeadbeef, HostName: "webminiport"})
	frames["built_dhcp"] = slices.Clone(buf[:n])
	names = append(names, "built_arp", "built_ping", "built_dhcp")
	for i, n := range names {
		r.Record(time.Unix(1700000000, int64(i)), frames[n])
	}

	dir := t.TempDir()
	var ng, classic bytes.Buffer
	if err := WritePcapng(&ng, PcapngInterface{Name: "AX88179 (virtual)", SnapLen: r.SnapLen(), Received: 30, Dropped: 2}, r.All(nil)); err != nil {
		t.Fatal(err)
	}
	if err := WritePcap(&classic, r.SnapLen(), false, r.All(nil)); err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{"x.pcapng": ng.Bytes(), "x.pcap": classic.Bytes()} {
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tshark, "-r", path,
			"-o", "tcp.relative_sequence_numbers:FALSE", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
			"-o", "udp.check_checksum:TRUE",
			"-T", "fields", "-E", "separator=|",
			"-e", "frame.interface_name", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info",
			"-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status",
			"-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status").Output()
		if err != nil {
			t.Fatalf("tshark on %s: %v", file, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(names) {
			t.Fatalf("tshark read %d frames from %s, want %d:\n%s", len(lines), file, len(names), out)
		}
		d := NewDecoder()
		for i, line := range lines {
			cols := strings.Split(line, "|")
			name := names[i]
			if file == "x.pcapng" && cols[0] != "AX88179 (virtual)" {
				t.Errorf("%s frame %d: interface name %q", file, i+1, cols[0])
			}
			for _, status := range cols[3:] {
				// 1 is good; 2 unverified (a fragment, an ICMP error's inner header).
				for _, s := range strings.Split(status, ",") {
					if s == "0" {
						t.Errorf("%s: tshark finds a bad checksum: %s", name, line)
					}
				}
			}
			var s Summary
			d.Summarize(frames[name], len(frames[name]), &s)
			if cols[1] != s.Protocol.String() {
				t.Errorf("%s: tshark says protocol %q, we say %q", name, cols[1], s.Protocol)
			}
			// Our ICMPv4 echo lines use single spaces where Wireshark pads.
			if name != "built_ping" && cols[2] != string(s.Info()) {
				t.Errorf("%s: tshark says %q, we say %q", name, cols[2], s.Info())
			}
		}
	}
}
