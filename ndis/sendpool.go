package ndis

import (
	"errors"
	"fmt"

	"webminiport/pool"
)

// SendPoolConfig sets up a protocol's send pool.
type SendPoolConfig struct {
	Name     string // default "<adapter> tx"
	Tag      uint32 // default "WmTx"
	Count    int    // NBLs to preallocate
	DataSize uint32 // bytes per send buffer: at least the largest frame to send
}

// SendPool is a protocol's own send buffers: a shape-C pool made through the binding, every NBL
// preallocated onto the protocol's free list. The protocol takes an NBL, writes a frame into it,
// sends it, and puts it back on the free list from its SendComplete handler. Safe for concurrent use.
type SendPool struct {
	*stock
}

// NewSendPool makes the send pool of the protocol bound (or about to bind) to a.
func NewSendPool(a *Adapter, cfg SendPoolConfig) (*SendPool, error) {
	if cfg.Name == "" {
		cfg.Name = a.name + " tx"
	}
	if cfg.Tag == 0 {
		cfg.Tag = pool.MakeTag("WmTx")
	}
	s, err := newStock(a, ComponentProtocol, pool.Params{Name: cfg.Name, Tag: cfg.Tag, DataSize: cfg.DataSize, Capacity: cfg.Count}, OwnerProtocolFree)
	if err != nil {
		return nil, err
	}
	return &SendPool{stock: s}, nil
}

// Pool returns the send pool.
func (s *SendPool) Pool() *pool.Pool { return s.p }

// Take gives the protocol a free send NBL and its data buffer; 0 when every NBL is in use.
func (s *SendPool) Take() (pool.NBL, []byte) {
	m := s.a.beginFrameMoves(ComponentProtocol)
	h := s.pop()
	if h == 0 {
		m.done()
		return 0, nil
	}
	m.move(s.e, h, OwnerProtocolSend, LogTaken, 0)
	m.done()
	return h, s.p.Buffer(s.p.FirstNB(h))
}

// SetLength sets the frame of a taken NBL to the first length bytes of its buffer.
func (s *SendPool) SetLength(h pool.NBL, length int) error {
	if o := s.p.Owner(h); o != OwnerProtocolSend {
		return s.misuseNotHeld(h, "set the length of")
	}
	if length < ethernetHeaderLen || length > len(s.p.Buffer(s.p.FirstNB(h))) {
		return fmt.Errorf("ndis: send pool %q: frame length %d outside %d..%d", s.e.name, length, ethernetHeaderLen, len(s.p.Buffer(s.p.FirstNB(h))))
	}
	_ = s.p.SetNext(h, 0)
	return s.p.SetData(s.p.FirstNB(h), 0, uint32(length))
}

// Send copies frame into a free NBL and sends it. It returns the NBL, or an error when none is
// free or the frame does not fit; the status arrives in the protocol's SendComplete.
func (s *SendPool) Send(frame []byte, flags SendFlags) (pool.NBL, error) {
	h, buf := s.Take()
	if h == 0 {
		return 0, fmt.Errorf("ndis: send pool %q: all %d NBLs in use", s.e.name, s.n)
	}
	copy(buf, frame)
	if err := s.SetLength(h, len(frame)); err != nil {
		return 0, errors.Join(err, s.Recycle(h))
	}
	if err := s.a.Send(h, flags); err != nil {
		return 0, errors.Join(err, s.Recycle(h))
	}
	return h, nil
}

// Recycle puts completed (or never sent) NBLs back on the free list. It reads each Next first.
// An NBL still in flight is ACCESS_WHILE_LENT and stays where it is.
func (s *SendPool) Recycle(chain pool.NBL) error {
	var bad []pool.NBL
	m := s.a.beginFrameMoves(ComponentProtocol) // right after SendCompleted: same time
	for h, steps := chain, 0; h != 0 && steps <= s.n; steps++ {
		next := s.p.Next(h)
		if s.p.Owner(h) != OwnerProtocolSend {
			bad = append(bad, h)
		} else {
			m.move(s.e, h, s.home, LogRecycled, 0)
			s.free = append(s.free, h)
		}
		h = next
	}
	m.done()
	var errs []error
	for _, h := range bad {
		errs = append(errs, s.misuseNotHeld(h, "recycled"))
	}
	return errors.Join(errs...)
}

// Free frees every NBL on the free list, then the pool (before the protocol unbinds).
func (s *SendPool) Free() error { return s.release() }

// Counts returns how many NBLs are free and how many the pool holds.
func (s *SendPool) Counts() (free, total int) {
	s.a.log.mu.Lock()
	defer s.a.log.mu.Unlock()
	return len(s.free), s.n
}
