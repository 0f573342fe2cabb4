//go:build js && wasm

package fakeusb

import (
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"

	"webminiport/usbnic/drivers"
)

// parseFilters reads options.filters of requestDevice, refusing what Chromium refuses, with its
// TypeError messages.
func parseFilters(opts safejs.Value) ([]drivers.Filter, error) {
	if opts.Type() != safejs.TypeObject {
		return nil, nil
	}
	list, err := opts.Get("filters")
	if err != nil || list.IsUndefined() {
		return nil, nil
	}
	n, err := list.Length()
	if err != nil {
		return nil, errors.New("Failed to execute 'requestDevice' on 'USB': The provided value cannot be converted to a sequence.")
	}
	fs := make([]drivers.Filter, 0, n)
	for i := 0; i < n; i++ {
		o, err := list.Index(i)
		if err != nil || o.Type() != safejs.TypeObject {
			return nil, fmt.Errorf("Failed to execute 'requestDevice' on 'USB': filter %d is not an object.", i)
		}
		var f drivers.Filter
		var vid, pid uint16
		var class, sub, proto uint8
		var hasVID, hasPID, hasClass, hasSub, hasProto bool
		if vid, hasVID, err = member[uint16](o, "vendorId"); err != nil {
			return nil, err
		}
		if pid, hasPID, err = member[uint16](o, "productId"); err != nil {
			return nil, err
		}
		if class, hasClass, err = member[uint8](o, "classCode"); err != nil {
			return nil, err
		}
		if sub, hasSub, err = member[uint8](o, "subclassCode"); err != nil {
			return nil, err
		}
		if proto, hasProto, err = member[uint8](o, "protocolCode"); err != nil {
			return nil, err
		}
		switch {
		case hasPID && !hasVID:
			return nil, errors.New("A filter containing a productId must also contain a vendorId.")
		case hasSub && !hasClass:
			return nil, errors.New("A filter containing a subclassCode must also contain a classCode.")
		case hasProto && !hasSub:
			return nil, errors.New("A filter containing a protocolCode must also contain a subclassCode.")
		}
		if hasVID {
			f.VendorID = &vid
		}
		if hasPID {
			f.ProductID = &pid
		}
		if hasClass {
			f.ClassCode = &class
		}
		if hasSub {
			f.SubclassCode = &sub
		}
		if hasProto {
			f.ProtocolCode = &proto
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// member reads an optional integer dictionary member, range-checked as WebIDL's [EnforceRange]
// octet and unsigned short are.
func member[T uint8 | uint16](o safejs.Value, name string) (T, bool, error) {
	v, err := o.Get(name)
	if err != nil || v.IsUndefined() {
		return 0, false, nil
	}
	f, err := v.Float()
	limit := float64(^T(0))
	if err != nil || f != float64(int64(f)) || f < 0 || f > limit {
		return 0, false, fmt.Errorf("Failed to execute 'requestDevice' on 'USB': %s is outside the range [0, %d] or not an integer.", name, int64(limit))
	}
	return T(f), true, nil
}

// matchesAny reports whether the device passes one of the filters, as Chromium matches them:
// IDs against the device descriptor; a class triple against the device's class or any
// alternate setting of any interface of any configuration.
func (d *Device) matchesAny(fs []drivers.Filter) bool {
	for i := range fs {
		if d.matches(&fs[i]) {
			return true
		}
	}
	return false
}

func (d *Device) matches(f *drivers.Filter) bool {
	if f.VendorID != nil && *f.VendorID != d.desc.VendorID {
		return false
	}
	if f.ProductID != nil && *f.ProductID != d.desc.ProductID {
		return false
	}
	if f.ClassCode == nil {
		return true
	}
	class := func(c, s, p uint8) bool {
		return c == *f.ClassCode && (f.SubclassCode == nil || s == *f.SubclassCode) && (f.ProtocolCode == nil || p == *f.ProtocolCode)
	}
	if class(d.desc.Class, d.desc.Subclass, d.desc.Protocol) {
		return true
	}
	for _, c := range d.configs {
		for _, it := range c.cfg.Interfaces {
			for _, a := range it.Alternates {
				if class(a.Class, a.Subclass, a.Protocol) {
					return true
				}
			}
		}
	}
	return false
}
