package ui

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// batch returns the commands of a finished buffer, without the length header, and checks it.
func batch(t *testing.T, o *Ops) []byte {
	t.Helper()
	b := o.Finish()
	if b == nil {
		return nil
	}
	if n := binary.LittleEndian.Uint32(b); int(n) != len(b)-headerLen {
		t.Fatalf("length header says %d, buffer holds %d command bytes", n, len(b)-headerLen)
	}
	out := bytes.Clone(b[headerLen:])
	o.Reset()
	return out
}

func TestOpsTextEncodesIDLengthAndBytes(t *testing.T) {
	o := NewOps(4096, nil)
	o.TextString(0x0102, "hi")
	want := []byte{opText, 0x02, 0x01, 2, 0, 0, 0, 'h', 'i'}
	if got := batch(t, o); !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestOpsTextUnchangedIsDropped(t *testing.T) {
	o := NewOps(4096, nil)
	o.Text(3, []byte("42"))
	batch(t, o)
	o.Text(3, []byte("42"))
	o.TextString(3, "42")
	if got := batch(t, o); got != nil {
		t.Fatalf("unchanged text sent again: % x", got)
	}
	o.Text(3, []byte("43"))
	if got := batch(t, o); len(got) == 0 {
		t.Fatal("changed text not sent")
	}
}

func TestOpsTextAndHTMLShareTheCacheOfAnElement(t *testing.T) {
	o := NewOps(4096, nil)
	o.HTML(1, []byte("<b>x</b>"))
	o.HTML(1, []byte("<b>x</b>"))
	want := append([]byte{opHTML, 1, 0, 8, 0, 0, 0}, "<b>x</b>"...)
	if got := batch(t, o); !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestOpsFlagSentOnlyOnChange(t *testing.T) {
	o := NewOps(4096, nil)
	o.Flag(7, FlagHidden, true)
	o.Flag(7, FlagHidden, true)
	o.Flag(7, FlagDisabled, false)
	want := []byte{opFlag, 7, 0, byte(FlagHidden), 1, opFlag, 7, 0, byte(FlagDisabled), 0}
	if got := batch(t, o); !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
	o.Flag(7, FlagHidden, false)
	want = []byte{opFlag, 7, 0, byte(FlagHidden), 0}
	if got := batch(t, o); !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestOpsPathEncodesColoursWidthAndPoints(t *testing.T) {
	o := NewOps(4096, nil)
	o.Path(2, RGBA{1, 2, 3, 4}, RGBA{}, 1.5, []float32{0, 10, 5, 2.5})
	got := batch(t, o)
	want := []byte{opPath, 2, 0, 1, 2, 3, 4, 0, 0, 0, 0}
	want = binary.LittleEndian.AppendUint32(want, math.Float32bits(1.5))
	want = append(want, 2, 0)
	for _, v := range []float32{0, 10, 5, 2.5} {
		want = binary.LittleEndian.AppendUint32(want, math.Float32bits(v))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestOpsAttrAndStylePxEncodeNameAndValue(t *testing.T) {
	o := NewOps(4096, nil)
	o.Attr(1, "title", "ab")
	o.StylePx(2, "top", 2)
	want := []byte{opAttr, 1, 0, 5, 't', 'i', 't', 'l', 'e', 2, 0, 'a', 'b',
		opStylePx, 2, 0, 3, 't', 'o', 'p', 0, 0, 0, 0x40}
	if got := batch(t, o); !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestOpsFullBufferIsFlushedNotLost(t *testing.T) {
	var flushed [][]byte
	o := NewOps(1024, func(b []byte) {
		if n := binary.LittleEndian.Uint32(b); int(n) != len(b)-headerLen {
			t.Fatalf("flushed batch: header %d, %d bytes", n, len(b)-headerLen)
		}
		flushed = append(flushed, bytes.Clone(b[headerLen:]))
	})
	text := bytes.Repeat([]byte{'x'}, 100)
	for id := ID(0); id < 30; id++ {
		o.Text(id, text)
	}
	rest := batch(t, o)
	total := len(rest)
	for _, b := range flushed {
		total += len(b)
	}
	if len(flushed) == 0 {
		t.Fatal("a 1 KiB buffer took 30 texts of 100 bytes without flushing")
	}
	if want := 30 * (7 + 100); total != want {
		t.Fatalf("%d command bytes arrived, want %d", total, want)
	}
}

func TestOpsCommandLargerThanBufferStillArrives(t *testing.T) {
	var flushed int
	o := NewOps(1024, func([]byte) { flushed++ })
	o.TextString(0, "a")
	big := bytes.Repeat([]byte{'y'}, 5000)
	o.HTML(1, big)
	got := batch(t, o)
	if flushed != 1 || len(got) != 7+5000 {
		t.Fatalf("flushed %d times, last batch %d bytes; want 1 flush and %d bytes", flushed, len(got), 7+5000)
	}
}

func TestOpsFinishEmptyIsNil(t *testing.T) {
	o := NewOps(4096, nil)
	if b := o.Finish(); b != nil {
		t.Fatalf("empty buffer finished as % x", b)
	}
}

func TestOpsSteadyStateDoesNotAllocate(t *testing.T) {
	o := NewOps(1<<16, nil)
	texts := [][]byte{[]byte("1 234 frames"), []byte("1 235 frames")}
	pts := make([]float32, 240)
	i := 0
	step := func() {
		i++
		o.Text(1, texts[i%2])
		o.Flag(2, FlagWarn, i%2 == 0)
		o.TranslateY(3, float32(i))
		o.Path(4, RGBA{1, 1, 1, 255}, RGBA{}, 1, pts)
		o.Image(5)
		o.Finish()
		o.Reset()
	}
	step()
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}
