//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pingGateway sends the plan's ICMP echo requests to the wire's gateway one at a time, through
// the VM's own network stack (a raw ICMP socket, so no ping process per size), and counts the
// replies by payload size. Each reply must carry its request's identifier, sequence number and
// payload.
func pingGateway(ctx context.Context, plan []struct{ size, count int }) (replies, requests int, bySize map[int]int, err error) {
	bySize = map[int]int{}
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return 0, 0, bySize, err
	}
	defer c.Close()
	dst := &net.IPAddr{IP: net.ParseIP(wireGateway)}
	id := uint16(os.Getpid())
	var seq uint16
	buf := make([]byte, 2048)
	for _, p := range plan {
		for range p.count {
			if err := ctx.Err(); err != nil {
				return replies, requests, bySize, err
			}
			seq++
			req := echoRequest(id, seq, p.size)
			if _, err := c.WriteTo(req, dst); err != nil {
				return replies, requests, bySize, err
			}
			requests++
			ok, err := awaitReply(c, buf, req)
			if err != nil {
				return replies, requests, bySize, fmt.Errorf("echo request %d (%d bytes): %w", seq, p.size, err)
			}
			if ok {
				replies++
				bySize[p.size]++
			}
		}
	}
	return replies, requests, bySize, nil
}

// echoRequest builds an ICMP echo request (RFC 792) with a payload of size bytes.
func echoRequest(id, seq uint16, size int) []byte {
	b := make([]byte, 8+size)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	for i := range size {
		b[8+i] = byte(i) ^ byte(seq)
	}
	binary.BigEndian.PutUint16(b[2:], icmpChecksum(b))
	return b
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}

// awaitReply reads ICMP messages until the reply to req arrives (true), or replyTimeout passes
// (false). A raw socket sees every ICMP message, ours and others', so it matches on identifier
// and sequence number, then checks the echoed payload.
func awaitReply(c net.PacketConn, buf, req []byte) (bool, error) {
	deadline := time.Now().Add(replyTimeout)
	for {
		if err := c.SetReadDeadline(deadline); err != nil {
			return false, err
		}
		n, _, err := c.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		m := buf[:n]
		if len(m) < 8 || m[0] != 0 || binary.BigEndian.Uint32(m[4:]) != binary.BigEndian.Uint32(req[4:]) {
			continue // not our reply (or our own request, which a raw socket also sees)
		}
		if string(m[8:]) != string(req[8:]) {
			return false, fmt.Errorf("reply payload of %d bytes differs from the %d sent", len(m)-8, len(req)-8)
		}
		return true, nil
	}
}

// burstToGateway sends n echo requests of size bytes to the gateway back to back, then collects
// the replies: the network answers them together, so the adapter has several frames to pack
// into one bulk-IN transfer (AX88179 aggregates, AX88772 stream records spanning transfers, NCM
// NTBs with several datagrams). It returns how many replies came back intact and, when some
// did not, where the kernel saw the others: replies whose payload differed, the socket's drops
// and the ICMP counters of /proc/net/snmp over the burst.
func burstToGateway(ctx context.Context, n, size int) (int, string, error) {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	// Room for the whole burst: the socket is charged each reply's buffer (skb truesize), not
	// its bytes, and with the default 208 KiB an ffs-ax88179-ss burst lost 2 of 20 replies at
	// the socket (its drops column) after the stack had counted all 20 (Icmp InEchoReps).
	if err := forceReadBuffer(c, burstReadBuffer); err != nil {
		return 0, "", err
	}
	icmp0 := readICMPStats()
	dst := &net.IPAddr{IP: net.ParseIP(wireGateway)}
	id := uint16(os.Getpid()) ^ 0x5555
	want := map[uint16][]byte{}
	for seq := uint16(1); int(seq) <= n; seq++ {
		req := echoRequest(id, seq, size)
		if _, err := c.WriteTo(req, dst); err != nil {
			return 0, "", err
		}
		want[seq] = req
	}
	got, differed := 0, 0
	buf := make([]byte, 2048)
	if err := c.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
		return 0, "", err
	}
	for len(want) > 0 && ctx.Err() == nil {
		m, _, err := c.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return got, "", err
		}
		r := buf[:m]
		if len(r) < 8 || r[0] != 0 || binary.BigEndian.Uint16(r[4:]) != id {
			continue
		}
		seq := binary.BigEndian.Uint16(r[6:])
		req, ok := want[seq]
		switch {
		case ok && string(r[8:]) == string(req[8:]):
			delete(want, seq)
			got++
		case ok:
			differed++
		}
	}
	if got == n {
		return got, "", nil
	}
	icmp1 := readICMPStats()
	note := fmt.Sprintf("; %d replies with a payload that differs, socket drops %s, ICMP in over the burst: %d echo replies, %d errors, %d checksum errors",
		differed, rawSocketDrops(c), icmp1["InEchoReps"]-icmp0["InEchoReps"], icmp1["InErrors"]-icmp0["InErrors"], icmp1["InCsumErrors"]-icmp0["InCsumErrors"])
	return got, note, nil
}

// burstReadBuffer is the raw socket's receive buffer for a burst.
const burstReadBuffer = 8 << 20

// forceReadBuffer sets c's receive buffer to n bytes past net.core.rmem_max (SO_RCVBUFFORCE:
// the guest driver runs as root).
func forceReadBuffer(c net.PacketConn, n int) error {
	var serr error
	if err := withFD(c, func(fd int) {
		serr = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_RCVBUFFORCE %d: %w", n, serr)
	}
	return nil
}

// withFD runs f with c's file descriptor.
func withFD(c net.PacketConn, f func(fd int)) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%T has no file descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { f(int(fd)) })
}

// readICMPStats returns the Icmp: counters of /proc/net/snmp by name (empty when unreadable).
func readICMPStats() map[string]int64 {
	stats := map[string]int64{}
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return stats
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Icmp:" {
			continue
		}
		if names == nil {
			names = f[1:]
			continue
		}
		for i, v := range f[1:] {
			if i < len(names) {
				stats[names[i]], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return stats
}

// rawSocketDrops returns the drops column of /proc/net/raw for the socket c: the messages the
// kernel had for it but did not queue (its receive buffer was full).
func rawSocketDrops(c net.PacketConn) string {
	var link string
	if err := withFD(c, func(fd int) { link, _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)) }); err != nil {
		return "unknown"
	}
	inode := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
	b, err := os.ReadFile("/proc/net/raw")
	if err != nil || inode == "" {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 13 && f[9] == inode {
			return f[len(f)-1]
		}
	}
	return "unknown"
}
