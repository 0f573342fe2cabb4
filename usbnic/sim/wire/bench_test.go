package wire

import "testing"

func benchmarkFlood(b *testing.B, size int) {
	w, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if err := w.Flood(size, 0); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 9216)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if w.ToHost(buf) != size {
			b.Fatal("no flood frame")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkWireFlood64 is the wire's side of a 64-byte flood: template copy, sequence number
// and checksum per frame.
func BenchmarkWireFlood64(b *testing.B) { benchmarkFlood(b, 64) }

// BenchmarkWireFlood1514 is the same with full-sized frames.
func BenchmarkWireFlood1514(b *testing.B) { benchmarkFlood(b, 1514) }

// BenchmarkWireEcho is one ping of 64 bytes answered: parse, reply built in the ring, pulled.
func BenchmarkWireEcho(b *testing.B) {
	w, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	frame := ethFrame(gwMAC, hostMAC, 0x0800, ipv4Packet(1, hostIP, gwIP, echoRequest(1, 1, 64-42)))
	buf := make([]byte, 9216)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.FromHost(frame)
		if w.ToHost(buf) != 64 {
			b.Fatal("no echo reply")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pings/s")
}

// BenchmarkWireWeb is the web-like mix pulled as fast as possible.
func BenchmarkWireWeb(b *testing.B) {
	w, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if err := w.Web(0); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 9216)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if w.ToHost(buf) == 0 {
			b.Fatal("no web frame")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
