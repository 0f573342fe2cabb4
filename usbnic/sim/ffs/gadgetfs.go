package ffs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"webminiport/usbnic"
	"webminiport/usbnic/sim"
)

// GadgetFS (drivers/usb/gadget/legacy/inode.c, mount -t gadgetfs) is FunctionFS's older
// sibling and carries what FunctionFS cannot: a whole device. Its one file at first is named
// after the UDC; writing it a tag (0), the full configuration descriptor at full and at high
// speed, and the device descriptor binds the device to the UDC. GadgetFS answers the host's
// GET_DESCRIPTOR for the device and the configuration itself and passes every other request on,
// SET_CONFIGURATION and SET_INTERFACE included, with the same ep0 semantics as FunctionFS (an
// IN request is answered by a write and stalled by a read; a request with no data stage is
// completed by a zero-length read and stalled by a write, except SET_CONFIGURATION, which user
// space may not stall). Once bound, one file per UDC endpoint appears ("ep1in-bulk", ...); the
// driver opens it and writes it a tag (1) and the endpoint's full- and high-speed descriptors
// to configure it, and closes it to release it. GadgetFS runs at high speed at most, takes a
// single configuration, and refuses one with remote wakeup in bmAttributes (is_valid_config).

// DescribeGadgetFS lays out configuration value cfg of model m (0: its first), built with opts,
// as a GadgetFS device.
func DescribeGadgetFS(m *sim.Model, cfg uint8, opts ...sim.Option) (*Layout, error) {
	hs := sim.NewGadget(m, nil, usbnic.SpeedHigh, opts...)
	fs := sim.NewGadget(m, nil, usbnic.SpeedFull, opts...)
	l, dev, err := describeDevice(m, hs)
	if err != nil {
		return nil, err
	}
	l.Device.MaxSpeed = "high-speed"
	index, err := configIndex(hs, cfg, int(dev[17]))
	if err != nil {
		return nil, fmt.Errorf("ffs: %s: %w", m.Name, err)
	}
	fsCfg, err := fs.ConfigDescriptor(index)
	if err != nil {
		return nil, fmt.Errorf("ffs: %s: %w", m.Name, err)
	}
	hsCfg, err := hs.ConfigDescriptor(index)
	if err != nil {
		return nil, fmt.Errorf("ffs: %s: %w", m.Name, err)
	}
	if len(hsCfg) < configHeaderLen {
		return nil, fmt.Errorf("ffs: %s: configuration descriptor of %d bytes", m.Name, len(hsCfg))
	}
	l.Device.Configuration, l.Device.Attributes, l.Device.MaxPowerMA = hsCfg[5], hsCfg[7], 2*int(hsCfg[8])
	if hsCfg[7]&0x20 != 0 {
		return nil, fmt.Errorf("ffs: %s: configuration %d asks for remote wakeup (bmAttributes %#02x), which GadgetFS refuses", m.Name, hsCfg[5], hsCfg[7])
	}
	fsEps, err := endpointDescriptors(fsCfg)
	if err != nil {
		return nil, fmt.Errorf("ffs: %s at full speed: %w", m.Name, err)
	}
	hsEps, err := endpointDescriptors(hsCfg)
	if err != nil {
		return nil, fmt.Errorf("ffs: %s at high speed: %w", m.Name, err)
	}
	if len(fsEps) != len(hsEps) {
		return nil, fmt.Errorf("ffs: %s: %d endpoints at full speed, %d at high speed", m.Name, len(fsEps), len(hsEps))
	}
	// The device descriptor keeps its one configuration (GadgetFS takes only one): the model's
	// others are left out.
	dev[17] = 1
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = append(append(append(b, fsCfg...), hsCfg...), dev...)
	l.Descriptors = b
	for i, hd := range hsEps {
		fd := fsEps[i]
		if fd[2] != hd[2] {
			return nil, fmt.Errorf("ffs: %s: endpoint %d is %#02x at full speed, %#02x at high speed", m.Name, i, fd[2], hd[2])
		}
		l.Endpoints = append(l.Endpoints, Endpoint{Address: hd[2], Type: hd[3] & 0x03})
		c := binary.LittleEndian.AppendUint32(nil, 1)
		l.epConfigs = append(l.epConfigs, append(append(c, fd...), hd...))
	}
	return l, nil
}

// endpointDescriptors returns each endpoint's descriptor in a configuration descriptor, once per
// address (an endpoint in two alternate settings is one UDC endpoint).
func endpointDescriptors(c []byte) ([][]byte, error) {
	var eps [][]byte
	seen := map[uint8]bool{}
	for off := configHeaderLen; off < len(c); {
		n := int(c[off])
		if n < 2 || off+n > len(c) {
			return nil, fmt.Errorf("descriptor at offset %d has bLength %d with %d bytes left", off, n, len(c)-off)
		}
		if d := c[off : off+n]; d[1] == dtEndpoint {
			if n != 7 {
				return nil, fmt.Errorf("endpoint descriptor at offset %d has bLength %d, want 7", off, n)
			}
			if typ := d[3] & 0x03; typ != usbnic.EndpointBulk && typ != usbnic.EndpointInterrupt {
				return nil, fmt.Errorf("endpoint %#02x at offset %d is of transfer type %d; only bulk and interrupt are served", d[2], off, typ)
			}
			if !seen[d[2]] {
				seen[d[2]] = true
				eps = append(eps, d)
			}
		}
		off += n
	}
	if len(eps) == 0 {
		return nil, errors.New("configuration has no endpoints")
	}
	return eps, nil
}

// startGadgetFS opens the UDC's file, the instance's only one before a device is bound, and
// writes the descriptors to it, which binds the device.
func (f *Function) startGadgetFS() error {
	names, err := f.dir.List()
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return fmt.Errorf("ffs: the GadgetFS instance holds %d files (%s); want the UDC's alone (is a device bound already?)", len(names), strings.Join(names, " "))
	}
	ep0, err := f.dir.Open(names[0])
	if err != nil {
		return err
	}
	f.ep0 = ep0
	if _, err := ep0.Write(f.layout.Descriptors); err != nil {
		return fmt.Errorf("ffs: writing the %d-byte descriptors to GadgetFS's %s: %w", len(f.layout.Descriptors), names[0], err)
	}
	return nil
}

// endpointFile finds the GadgetFS file of the UDC endpoint with address addr: "ep1in-bulk"
// for 0x81, "ep2out-bulk" for 0x02 (the UDC names them; dummy_hcd as here).
func endpointFile(names []string, addr uint8) (string, bool) {
	dir := "out"
	if addr&0x80 != 0 {
		dir = "in"
	}
	prefix := fmt.Sprintf("ep%d%s", addr&0x0F, dir)
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n, prefix); ok && (rest == "" || rest[0] == '-') {
			return n, true
		}
	}
	return "", false
}

// openEndpoints (GadgetFS) opens and configures the endpoint files for a connection's
// configuration; they stay open until its DISCONNECT.
func (f *Function) openEndpoints() error {
	f.mu.Lock()
	open := len(f.files) > 0
	f.mu.Unlock()
	if open {
		return nil
	}
	names, err := f.dir.List()
	if err != nil {
		return err
	}
	var files []File
	fail := func(err error) error {
		for _, ep := range files {
			ep.Close()
		}
		return err
	}
	for i, e := range f.layout.Endpoints {
		name, ok := endpointFile(names, e.Address)
		if !ok {
			return fail(fmt.Errorf("ffs: the UDC has no endpoint file for %#02x among %s", e.Address, strings.Join(names, " ")))
		}
		ep, err := f.dir.Open(name)
		if err != nil {
			return fail(err)
		}
		files = append(files, ep)
		if _, err := ep.Write(f.layout.epConfigs[i]); err != nil {
			return fail(fmt.Errorf("ffs: configuring %s for endpoint %#02x: %w", name, e.Address, err))
		}
	}
	f.mu.Lock()
	f.files = files
	f.mu.Unlock()
	return nil
}

// closeEndpoints closes the endpoint files; GadgetFS disables an endpoint when its file closes.
func (f *Function) closeEndpoints() error {
	f.mu.Lock()
	files := f.files
	f.files = nil
	f.mu.Unlock()
	var errs []error
	for _, ep := range files {
		errs = append(errs, ep.Close())
	}
	return errors.Join(errs...)
}
