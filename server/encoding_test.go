//go:build !js

package main

import (
	"strings"
	"testing"
)

func TestChooseEncoding(t *testing.T) {
	tests := []struct {
		name             string
		fields           []string // Accept-Encoding fields; nil means none sent
		haveBr, haveGzip bool
		want             string
	}{
		{"no field sends the file as it is", nil, true, true, ""},
		{"an empty field sends the file as it is", []string{""}, true, true, ""},
		{"a browser's list gets br", []string{"gzip, deflate, br, zstd"}, true, true, "br"},
		{"gzip alone gets gzip", []string{"gzip"}, true, true, "gzip"},
		{"br without a br file falls back to gzip", []string{"br, gzip"}, false, true, "gzip"},
		{"br without a br file and no gzip asked sends plain", []string{"br"}, false, true, ""},
		{"gzip without a gzip file gets br", []string{"gzip, br"}, true, false, "br"},
		{"no variants send plain whatever is asked", []string{"br, gzip, *"}, false, false, ""},
		{"a higher weight for gzip beats br", []string{"br;q=0.5, gzip;q=0.8"}, true, true, "gzip"},
		{"equal weights prefer br", []string{"gzip;q=0.7, br;q=0.7"}, true, true, "br"},
		{"q=0 refuses br", []string{"br;q=0, gzip"}, true, true, "gzip"},
		{"q=0.000 refuses br", []string{"br;q=0.000, gzip;q=0.001"}, true, true, "gzip"},
		{"every coding refused sends plain", []string{"br;q=0, gzip;q=0"}, true, true, ""},
		{"wildcard accepts both and prefers br", []string{"*"}, true, true, "br"},
		{"wildcard does not override an explicit q=0", []string{"*, br;q=0"}, true, true, "gzip"},
		{"wildcard q=0 leaves a listed gzip", []string{"*;q=0, gzip"}, true, true, "gzip"},
		{"wildcard q=0 refuses unlisted codings", []string{"*;q=0"}, true, true, ""},
		{"a wildcard weight applies to unlisted codings", []string{"*;q=0.9, br;q=0.5"}, true, true, "gzip"},
		{"identity with a strictly higher weight wins", []string{"identity;q=1, br;q=0.5"}, true, true, ""},
		{"identity with an equal weight loses", []string{"identity, br"}, true, true, "br"},
		{"a wildcard weight applies to identity", []string{"*;q=0.9, br;q=0.5, gzip;q=0.5"}, true, true, ""},
		{"identity refused still leaves br", []string{"identity;q=0, br"}, true, true, "br"},
		{"identity refused and nothing else sends plain anyway", []string{"identity;q=0"}, false, false, ""},
		{"coding names ignore case", []string{"GZIP"}, true, true, "gzip"},
		{"q ignores case", []string{"br;Q=0, gzip"}, true, true, "gzip"},
		{"x-gzip means gzip", []string{"x-gzip"}, true, true, "gzip"},
		{"a weight above 1 drops the element", []string{"br;q=2, gzip;q=0.1"}, true, true, "gzip"},
		{"a weight with four decimals drops the element", []string{"br;q=0.5000, gzip;q=0.1"}, true, true, "gzip"},
		{"a weight that is not a number drops the element", []string{"br;q=high, gzip;q=0.1"}, true, true, "gzip"},
		{"1.000 is the highest weight", []string{"br;q=0.999, gzip;q=1.000"}, true, true, "gzip"},
		{"several fields are read together", []string{"gzip;q=0.5", "br;q=0.4"}, true, true, "gzip"},
		{"spaces around elements and parameters", []string{" br ; q=0.9 ,gzip;q=0.8 "}, true, true, "br"},
		{"empty elements are skipped", []string{",, br ,,"}, true, true, "br"},
		{"unknown codings are ignored", []string{"zstd, deflate"}, true, true, ""},
		{"other parameters are ignored", []string{"br;level=11;q=0.1, gzip;q=0.2"}, true, true, "gzip"},
		{"the last weight of a coding named twice counts", []string{"br;q=0, br;q=1, gzip;q=0.5"}, true, true, "br"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseAcceptEncoding(tc.fields).choose(tc.haveBr, tc.haveGzip)
			if got != tc.want {
				t.Errorf("Accept-Encoding %q with br=%v gzip=%v: got %q, want %q",
					tc.fields, tc.haveBr, tc.haveGzip, got, tc.want)
			}
		})
	}
}

func TestParseQValue(t *testing.T) {
	valid := []struct {
		in   string
		want int
	}{
		{"0", 0}, {"0.", 0}, {"0.5", 500}, {"0.05", 50}, {"0.123", 123}, {"0.001", 1},
		{"1", 1000}, {"1.", 1000}, {"1.0", 1000}, {"1.000", 1000},
	}
	for _, tc := range valid {
		if got, ok := parseQValue(tc.in); !ok || got != tc.want {
			t.Errorf("parseQValue(%q) = %d, %v; want %d, true", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{"", "2", "1.001", "1.5", "0.1234", ".5", "0,5", "-0", "0.a", "01", "00", " 1", "1e0"} {
		if got, ok := parseQValue(in); ok {
			t.Errorf("parseQValue(%q) = %d, true; want it refused", in, got)
		}
	}
}

// FuzzAcceptEncoding checks that any field parses without panicking and
// that the choice is always something the server has, and never a coding
// the field does not mention at all.
func FuzzAcceptEncoding(f *testing.F) {
	f.Fuzz(func(t *testing.T, field string) {
		a := parseAcceptEncoding([]string{field})
		for _, weight := range []int{a.br, a.gzip, a.identity, a.any} {
			if weight != notListed && (weight < 0 || weight > 1000) {
				t.Fatalf("%q: weight %d outside 0..1000", field, weight)
			}
		}
		lower := strings.ToLower(field)
		for _, have := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			got := a.choose(have[0], have[1])
			switch {
			case got == "br" && !have[0], got == "gzip" && !have[1]:
				t.Fatalf("%q with br=%v gzip=%v: chose %q, which does not exist", field, have[0], have[1], got)
			case got == "br" && !strings.Contains(lower, "br") && !strings.Contains(lower, "*"):
				t.Fatalf("%q: chose br, which the field does not mention", field)
			case got == "gzip" && !strings.Contains(lower, "gzip") && !strings.Contains(lower, "*"):
				t.Fatalf("%q: chose gzip, which the field does not mention", field)
			case got != "" && got != "br" && got != "gzip":
				t.Fatalf("%q: chose unknown coding %q", field, got)
			}
		}
	})
}
