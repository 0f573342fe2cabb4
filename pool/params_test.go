package pool

import "testing"

// Tags are shown in memory order; C writes them reversed ('xRmW' shows as "WmRx").
func TestMakeTagMatchesCLiteralOrder(t *testing.T) {
	// 'xRmW' as a C multi-character constant: 'x'<<24 | 'R'<<16 | 'm'<<8 | 'W'.
	const cLiteral = 0x78526d57
	if got := MakeTag("WmRx"); got != cLiteral {
		t.Errorf("MakeTag(WmRx) = %#x, want %#x", got, cLiteral)
	}
	if got := TagString(cLiteral); got != "WmRx" {
		t.Errorf("TagString = %q, want WmRx", got)
	}
	if got := TagString(MakeTag("KD")); got != "KD  " {
		t.Errorf("short tag renders %q", got)
	}
	if got := TagString(0x7f01_4142); got != "BA.." {
		t.Errorf("unprintable bytes render %q", got)
	}
	if got := MakeTag("ABCDEF"); got != MakeTag("ABCD") {
		t.Errorf("bytes past the fourth change the tag")
	}
}

func TestShapeStringNamesSpecShapes(t *testing.T) {
	for s, want := range map[Shape]string{
		ShapeNBLOnly: "A (NBL only)", ShapeNBLWithNB: "B (NBL + NB)", ShapeNBLWithData: "C (NBL + NB + data)", 9: "Shape(9)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Shape(%d) = %q, want %q", s, got, want)
		}
	}
}

func TestNewNBLPoolPicksShapeFromParams(t *testing.T) {
	for _, tt := range []struct {
		params Params
		want   Shape
	}{
		{shapeA, ShapeNBLOnly},
		{shapeB, ShapeNBLWithNB},
		{shapeC, ShapeNBLWithData},
		{Params{Name: "tcp", ProtocolID: 2, ContextSize: 32, Capacity: MaxCapacity}, ShapeNBLOnly},
	} {
		p := newPool(t, tt.params)
		if p.Shape() != tt.want {
			t.Errorf("%+v: shape %v, want %v", tt.params, p.Shape(), tt.want)
		}
		if p.Params() != tt.params {
			t.Errorf("Params() = %+v, want %+v", p.Params(), tt.params)
		}
		if err := p.Free(); err != nil {
			t.Error(err)
		}
	}
}

// specs/ndis.md §9 item 1, §2.1, §2.2.
func TestNewNBLPoolRejectsInvalidParams(t *testing.T) {
	for _, tt := range []struct {
		name   string
		params Params
	}{
		{"shape D", Params{Name: "d", DataSize: 64, Capacity: 4}},
		{"context not aligned", Params{Name: "c", ContextSize: 8, Capacity: 4}},
		{"zero capacity", Params{Name: "z", Capacity: 0}},
		{"capacity too big", Params{Name: "b", Capacity: MaxCapacity + 1}},
		{"negative capacity", Params{Name: "n", Capacity: -1}},
		{"unknown protocol id", Params{Name: "p", ProtocolID: 3, Capacity: 4}},
		{"data arena too big", Params{Name: "big", AllocateNB: true, DataSize: 1 << 20, Capacity: 4096}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewNBLPool(tt.params)
			if p != nil {
				t.Fatal("got a pool")
			}
			m := wantMisuse(t, err, InvalidPoolParams)
			if m.Pool != tt.params.Name || m.Detail == "" {
				t.Errorf("error %v does not name pool and reason", err)
			}
		})
	}
	for _, cap := range []int{0, MaxCapacity + 1} {
		if _, err := NewNBPool(NBPoolParams{Name: "nb", Capacity: cap}); err == nil {
			t.Errorf("NB pool capacity %d accepted", cap)
		} else {
			wantMisuse(t, err, InvalidPoolParams)
		}
	}
}
