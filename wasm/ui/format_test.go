package ui

import (
	"testing"
	"time"
)

const nnbsp = "\u202f"

func TestAppendCount(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1" + nnbsp + "000"}, {1234567, "1" + nnbsp + "234" + nnbsp + "567"},
		{18446744073709551615, "18" + nnbsp + "446" + nnbsp + "744" + nnbsp + "073" + nnbsp + "709" + nnbsp + "551" + nnbsp + "615"},
	} {
		if got := string(AppendCount(nil, tc.in)); got != tc.want {
			t.Errorf("AppendCount(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(AppendInt(nil, -1500)); got != "-1"+nnbsp+"500" {
		t.Errorf("AppendInt(-1500) = %q", got)
	}
}

func TestAppendSI(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0 fps"}, {7, "7 fps"}, {950, "950 fps"}, {999.4, "999 fps"}, {999.6, "1.00 kfps"},
		{1234, "1.23 kfps"}, {45_600_000, "45.6 Mfps"}, {1_488_095, "1.49 Mfps"}, {0.25, "0.25 fps"},
		{-2000, "-2.00 kfps"},
	} {
		if got := string(AppendSI(nil, tc.in, "fps")); got != tc.want {
			t.Errorf("AppendSI(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendBytes(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {32 << 20, "32.0 MiB"}, {3 << 30, "3.0 GiB"},
	} {
		if got := string(AppendBytes(nil, tc.in)); got != tc.want {
			t.Errorf("AppendBytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0 s"}, {850 * time.Microsecond, "850 µs"}, {12 * time.Millisecond, "12 ms"},
		{1500 * time.Millisecond, "1.5 s"}, {42 * time.Second, "42 s"}, {200 * time.Second, "3 min 20 s"},
	} {
		if got := string(AppendDuration(nil, tc.in)); got != tc.want {
			t.Errorf("AppendDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendHex32AndSeconds(t *testing.T) {
	if got := string(AppendHex32(nil, 0x03000001)); got != "0x03000001" {
		t.Errorf("AppendHex32 = %q", got)
	}
	if got := string(AppendSeconds(nil, 12*time.Second+345678*time.Microsecond)); got != "12.345678" {
		t.Errorf("AppendSeconds = %q", got)
	}
	if got := string(AppendSeconds(nil, 5*time.Microsecond)); got != "0.000005" {
		t.Errorf("AppendSeconds = %q", got)
	}
}

func TestFormattingDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(50, func() {
		b := AppendCount(buf[:0], 123456789)
		b = AppendSI(b, 1.23e6, "b/s")
		b = AppendBytes(b, 1<<25)
		b = AppendDuration(b, 1500*time.Millisecond)
		b = AppendHex32(b, 0xdeadbeef)
		_ = AppendSeconds(b, time.Second)
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
