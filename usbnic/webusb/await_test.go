//go:build js && wasm

package webusb

import (
	"context"
	"errors"
	"testing"

	"github.com/hack-pad/safejs"
)

// withResolvers returns a new promise and its resolve and reject functions.
func withResolvers(t testing.TB) (p, resolve, reject safejs.Value) {
	t.Helper()
	promise, err := safejs.Global().Get("Promise")
	must(t, err)
	r, err := promise.Call("withResolvers")
	must(t, err)
	p, err = r.Get("promise")
	must(t, err)
	resolve, err = r.Get("resolve")
	must(t, err)
	reject, err = r.Get("reject")
	must(t, err)
	return p, resolve, reject
}

func newJS(t testing.TB, ctor string, args ...any) safejs.Value {
	t.Helper()
	c, err := safejs.Global().Get(ctor)
	must(t, err)
	v, err := c.New(args...)
	must(t, err)
	return v
}

func TestAwaitReturnsTheValue(t *testing.T) {
	p, resolve, _ := withResolvers(t)
	go func() { _, _ = resolve.Invoke(42) }()
	v, err := Await(bg, p)
	must(t, err)
	if n, _ := v.Int(); n != 42 {
		t.Fatalf("got %v, want 42", v)
	}
	// A plain value is awaited as Promise.resolve takes it.
	v, err = Await(bg, v)
	must(t, err)
	if n, _ := v.Int(); n != 42 {
		t.Fatalf("got %v, want 42", v)
	}
}

func TestAwaitRejectionKeepsTheExceptionNameAndMessage(t *testing.T) {
	tests := []struct {
		name        string
		reason      func(t testing.TB) safejs.Value
		wantName    string
		wantMessage string
	}{
		{"DOMException", func(t testing.TB) safejs.Value {
			return newJS(t, "DOMException", "Unable to claim interface.", "NetworkError")
		}, "NetworkError", "Unable to claim interface."},
		{"TypeError", func(t testing.TB) safejs.Value { return newJS(t, "TypeError", "bad filter") }, "TypeError", "bad filter"},
		{"string", func(t testing.TB) safejs.Value { v, _ := safejs.ValueOf("just text"); return v }, "", "just text"},
		{"number", func(t testing.TB) safejs.Value { v, _ := safejs.ValueOf(7); return v }, "", "7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _, reject := withResolvers(t)
			_, err := reject.Invoke(tc.reason(t))
			must(t, err)
			_, err = Await(bg, p)
			var de *DOMError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want a *DOMError", err, err)
			}
			if de.Name != tc.wantName || de.Message != tc.wantMessage {
				t.Errorf("got name %q message %q, want %q %q", de.Name, de.Message, tc.wantName, tc.wantMessage)
			}
		})
	}
}

func TestAwaitCancelledLeaksNoFuncAndSurvivesTheLateSettlement(t *testing.T) {
	d := mustDispatcher(t)
	settleJS(t) // the dispatcher's two funcs exist from here on
	funcsBefore := liveFuncs.Load()
	_, parkedBefore := d.stats()

	p, resolve, _ := withResolvers(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := Await(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if got := liveFuncs.Load() - funcsBefore; got != 0 {
		t.Errorf("a cancelled Await holds %d more js.Funcs", got)
	}
	if _, parked := d.stats(); parked != parkedBefore+1 {
		t.Fatalf("parked slots %d, want %d: the abandoned wait keeps its slot until the promise settles", parked, parkedBefore+1)
	}
	// The promise settles after its waiter left: the slot comes back, nothing else happens.
	_, err := resolve.Invoke("late")
	must(t, err)
	settleJS(t)
	if _, parked := d.stats(); parked != parkedBefore {
		t.Errorf("parked slots %d after the late settlement, want %d", parked, parkedBefore)
	}
	// The freed slot serves the next wait.
	slots, _ := d.stats()
	p2, resolve2, _ := withResolvers(t)
	_, err = resolve2.Invoke(1)
	must(t, err)
	_, err = Await(bg, p2)
	must(t, err)
	if after, _ := d.stats(); after != slots {
		t.Errorf("%d slots after reuse, want %d", after, slots)
	}
	if got := liveFuncs.Load() - funcsBefore; got != 0 {
		t.Errorf("%d more js.Funcs at the end", got)
	}
}

func TestAwaitManyAtOnce(t *testing.T) {
	const n = 64
	type pr struct{ p, resolve safejs.Value }
	ps := make([]pr, n)
	for i := range ps {
		ps[i].p, ps[i].resolve, _ = withResolvers(t)
	}
	got := make(chan int, n)
	for i := range ps {
		go func(p safejs.Value) {
			v, err := Await(bg, p)
			if err != nil {
				t.Error(err)
				got <- -1
				return
			}
			k, _ := v.Int()
			got <- k
		}(ps[i].p)
	}
	for i := n - 1; i >= 0; i-- { // settle in reverse order
		_, err := ps[i].resolve.Invoke(i)
		must(t, err)
	}
	seen := make([]bool, n)
	for i := 0; i < n; i++ {
		k := <-got
		if k < 0 || k >= n || seen[k] {
			t.Fatalf("value %d delivered wrongly", k)
		}
		seen[k] = true
	}
}
