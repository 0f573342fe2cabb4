package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"webminiport/usbnic"
)

// FaultKind is one kind of injected fault.
type FaultKind uint8

// Fault kinds. Stall, Error, Delay and Remove act before a transfer moves data; Babble, Short,
// Oversize and Corrupt change what an IN transfer returns (Short and Corrupt also change what an
// OUT transfer delivers to the device).
const (
	// FaultStall halts the endpoint: the transfer ends with StatusStall, and so does every
	// later one until ClearHalt. On the control endpoint it stalls that one request.
	FaultStall FaultKind = iota
	// FaultBabble ends an IN transfer with StatusBabble (the device sent more than asked).
	FaultBabble
	// FaultShort cuts an IN transfer to Bytes bytes (default: half), or delivers only the first
	// Bytes bytes of an OUT transfer to the device.
	FaultShort
	// FaultOversize appends Bytes random bytes (default 8) to an IN transfer; past the host's
	// buffer it becomes a babble.
	FaultOversize
	// FaultCorrupt flips one byte of the framing (headers, lengths, trailers) of an IN transfer,
	// or one byte anywhere in an OUT transfer.
	FaultCorrupt
	// FaultError fails the transfer with Err (default ErrTransfer); nothing reaches the device.
	FaultError
	// FaultDelay holds the transfer's completion back by Delay (and the transfers queued
	// behind it on the same endpoint).
	FaultDelay
	// FaultRemove pulls the device out as the transfer starts, as RemoveNow.
	FaultRemove
	numFaultKinds
)

// FaultKinds lists every fault kind.
var FaultKinds = []FaultKind{FaultStall, FaultBabble, FaultShort, FaultOversize, FaultCorrupt, FaultError, FaultDelay, FaultRemove}

var faultNames = [numFaultKinds]string{"stall", "babble", "short", "oversize", "corrupt", "error", "delay", "remove"}

func (k FaultKind) String() string {
	if k < numFaultKinds {
		return faultNames[k]
	}
	return fmt.Sprintf("fault(%d)", uint8(k))
}

// inOnly reports whether the kind makes sense only on IN transfers.
func (k FaultKind) inOnly() bool { return k == FaultBabble || k == FaultOversize }

// Fault is one fault to inject on an endpoint.
type Fault struct {
	Kind     FaultKind
	Endpoint uint8 // endpoint address; 0 is the control endpoint
	// Count is how many transfers on the endpoint it affects: 0 means 1, a negative count
	// means every transfer until ClearFaults.
	Count int
	Bytes int           // FaultShort: bytes kept; FaultOversize: bytes appended
	Delay time.Duration // FaultDelay
	Err   error         // FaultError
}

func (f Fault) String() string {
	return fmt.Sprintf("%v on %#02x x%d", f.Kind, f.Endpoint, f.Count)
}

type pendingFault struct {
	Fault
	left int // transfers still affected; negative: forever
}

// Inject arms a fault. It fails for an unknown kind, or an IN-only kind on an OUT endpoint.
func (d *Device) Inject(f Fault) error {
	if f.Kind >= numFaultKinds {
		return fmt.Errorf("sim: unknown fault kind %d", f.Kind)
	}
	if f.Kind.inOnly() && f.Endpoint != 0 && f.Endpoint&0x80 == 0 {
		return fmt.Errorf("sim: %v fault needs an IN endpoint, not %#02x", f.Kind, f.Endpoint)
	}
	if f.Kind == FaultError && f.Err == nil {
		f.Err = fmt.Errorf("%w: injected on endpoint %#02x", ErrTransfer, f.Endpoint)
	}
	left := f.Count
	if left == 0 {
		left = 1
	}
	d.mu.Lock()
	d.faults = append(d.faults, pendingFault{Fault: f, left: left})
	d.wakeHeads()
	d.mu.Unlock()
	return nil
}

// ClearFaults disarms every fault not yet fired (endpoints already halted stay halted).
func (d *Device) ClearFaults() {
	d.mu.Lock()
	d.faults = d.faults[:0]
	d.mu.Unlock()
}

// FaultsFired returns how many times each kind of fault has fired on this device.
func (d *Device) FaultsFired() map[FaultKind]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[FaultKind]uint64)
	for k, n := range d.fired {
		if n > 0 {
			m[FaultKind(k)] = n
		}
	}
	return m
}

// take returns the next armed fault of kind on ep and counts it down, or false.
func (d *Device) take(ep uint8, kind FaultKind) (Fault, bool) {
	for i := range d.faults {
		f := &d.faults[i]
		if f.Endpoint != ep || f.Kind != kind {
			continue
		}
		got := f.Fault
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				d.faults = append(d.faults[:i], d.faults[i+1:]...)
			}
		}
		d.fired[kind]++
		return got, true
	}
	return Fault{}, false
}

type preFaults struct {
	stall, remove bool
	err           error
	delay         time.Duration
}

func (d *Device) takePreFaults(ep uint8) preFaults {
	var p preFaults
	if len(d.faults) == 0 {
		return p
	}
	if _, ok := d.take(ep, FaultRemove); ok {
		p.remove = true
	}
	if f, ok := d.take(ep, FaultError); ok {
		p.err = f.Err
	}
	if f, ok := d.take(ep, FaultDelay); ok {
		p.delay = f.Delay
	}
	if _, ok := d.take(ep, FaultStall); ok {
		p.stall = true
	}
	return p
}

// applyInFaults changes a completed IN transfer of n bytes in buf. The framing spans of d.res
// say which bytes a corrupt fault may flip.
func (d *Device) applyInFaults(ep uint8, buf []byte, n int, st usbnic.Status) (int, usbnic.Status) {
	if len(d.faults) == 0 {
		return n, st
	}
	if _, ok := d.take(ep, FaultCorrupt); ok && n > 0 {
		off, size := 0, n
		if r := &d.res; r.nspans > 0 {
			s := r.spans[d.rng.IntN(r.nspans)]
			if s.off < n {
				off, size = s.off, min(s.n, n-s.off)
			}
		}
		buf[off+d.rng.IntN(size)] ^= uint8(1 + d.rng.IntN(255))
	}
	if f, ok := d.take(ep, FaultShort); ok {
		keep := f.Bytes
		if keep <= 0 {
			keep = n / 2
		}
		n = min(n, keep)
	}
	if f, ok := d.take(ep, FaultOversize); ok {
		extra := f.Bytes
		if extra <= 0 {
			extra = 8
		}
		end := n + extra
		if end > len(buf) {
			end, st = len(buf), usbnic.StatusBabble
		}
		for i := n; i < end; i++ {
			buf[i] = uint8(d.rng.Uint32())
		}
		n = end
	}
	if _, ok := d.take(ep, FaultBabble); ok {
		st = usbnic.StatusBabble
	}
	return n, st
}

// applyOutFaults returns the OUT data the device actually receives.
func (d *Device) applyOutFaults(ep uint8, data []byte) []byte {
	if len(d.faults) == 0 {
		return data
	}
	if f, ok := d.take(ep, FaultShort); ok {
		keep := f.Bytes
		if keep <= 0 {
			keep = len(data) / 2
		}
		data = data[:min(len(data), keep)]
	}
	if _, ok := d.take(ep, FaultCorrupt); ok && len(data) > 0 {
		// Never flip the caller's bytes: the host still owns its buffer.
		d.outBuf = append(d.outBuf[:0], data...)
		data = d.outBuf
		data[d.rng.IntN(len(data))] ^= uint8(1 + d.rng.IntN(255))
	}
	return data
}

// RandomFault picks a fault for property tests: a random endpoint of eps (include 0 for the
// control endpoint), a kind from kinds (all kinds when empty) that suits the endpoint's
// direction, a count of 1..3 and random sizes and delays (up to 20 ms).
func RandomFault(r *rand.Rand, eps []uint8, kinds ...FaultKind) Fault {
	if len(kinds) == 0 {
		kinds = FaultKinds
	}
	ep := eps[r.IntN(len(eps))]
	var k FaultKind
	for {
		k = kinds[r.IntN(len(kinds))]
		if !k.inOnly() || ep == 0 || ep&0x80 != 0 {
			break
		}
		if allInOnly(kinds) {
			ep = 0
			break
		}
	}
	return Fault{
		Kind:     k,
		Endpoint: ep,
		Count:    1 + r.IntN(3),
		Bytes:    r.IntN(64),
		Delay:    time.Duration(1+r.IntN(20)) * time.Millisecond,
	}
}

func allInOnly(kinds []FaultKind) bool {
	for _, k := range kinds {
		if !k.inOnly() {
			return false
		}
	}
	return true
}
