// Package drivers is the match table: which minidriver takes which USB device, the choice of
// configuration and interfaces for a device in hand, and the WebUSB requestDevice filters
// generated from the same rows.
//
// The vendor rows come from the minidrivers' own Linux id tables (ax88179.IDs, ax88772.IDs);
// the class rows match any CDC-NCM or CDC-ECM function. As in Linux, where cdc_ether
// blacklists devices that have a vendor driver, a vendor row wins over a class row.
package drivers

import (
	"fmt"
	"strings"

	"webminiport/usbnic"
	"webminiport/usbnic/ax88179"
	"webminiport/usbnic/ax88772"
	"webminiport/usbnic/cdcecm"
	"webminiport/usbnic/cdcncm"
)

// Class rows: Linux's USB_INTERFACE_INFO(USB_CLASS_COMM, subclass, USB_CDC_PROTO_NONE). NCM
// comes first: a device offering both functions is driven through NCM, which batches frames.
var classIDs = []usbnic.ID{
	{MatchInterface: true, Class: usbnic.ClassComm, Subclass: usbnic.SubclassCDCNCM, Protocol: usbnic.ProtocolCDCNone,
		Product: "CDC-NCM (Network Control Model)", Driver: cdcncm.Driver},
	{MatchInterface: true, Class: usbnic.ClassComm, Subclass: usbnic.SubclassCDCECM, Protocol: usbnic.ProtocolCDCNone,
		Product: "CDC-ECM (Ethernet Control Model)", Driver: cdcecm.Driver},
}

// IDs is the whole table: vendor rows, then class rows. Match tries them in this order.
var IDs = concat(ax88179.IDs, ax88772.IDs, classIDs)

func concat(tables ...[]usbnic.ID) []usbnic.ID {
	var all []usbnic.ID
	for _, t := range tables {
		all = append(all, t...)
	}
	return all
}

// Choice is what Match decided for one device.
type Choice struct {
	ID     *usbnic.ID // the row that matched
	Driver *usbnic.Driver
	// Config is the bConfigurationValue to select.
	Config uint8
	// Interfaces are the interfaces the driver works with: the matched one first (the CDC
	// control interface), then the CDC data interface.
	Interfaces []uint8
	// Reason says in words what was chosen and what was passed over, for the adapter bar.
	Reason string
}

// candidate is one row matching one configuration.
type candidate struct {
	row   int
	id    *usbnic.ID
	cfg   *usbnic.Config
	iface *usbnic.Interface
}

// Match picks the driver, configuration and interfaces for a device from its device
// descriptor and all its configurations. Rows are tried in table order (vendor rows first), and
// for each row the configurations in order; the first hit wins. So an AX88179A (bcdDevice
// 2.00), which offers its vendor interface in configuration 1 and CDC-NCM in configuration 2,
// gets ax88179 on configuration 1, and the reason names what was passed over.
func Match(desc usbnic.DeviceDesc, configs []*usbnic.Config) (Choice, error) {
	var found []candidate
	for i := range IDs {
		id := &IDs[i]
		for _, cfg := range configs {
			if iface := matchRow(id, desc, cfg); iface != nil {
				found = append(found, candidate{row: i, id: id, cfg: cfg, iface: iface})
			}
		}
	}
	if len(found) == 0 {
		return Choice{}, fmt.Errorf("%04x:%04x: no supported driver: no known VID:PID and no CDC-NCM or CDC-ECM interface in %d configuration(s)",
			desc.VendorID, desc.ProductID, len(configs))
	}
	best := found[0]
	c := Choice{ID: best.id, Driver: best.id.Driver, Config: best.cfg.Value, Interfaces: interfacesOf(best.cfg, best.iface)}
	c.Reason = reason(desc, configs, best, found[1:], c.Interfaces)
	return c, nil
}

// matchRow returns the interface of cfg that row id matches on this device, or nil. A row
// without MatchInterface binds the configuration's first interface, as Linux probes
// interfaces in order.
func matchRow(id *usbnic.ID, desc usbnic.DeviceDesc, cfg *usbnic.Config) *usbnic.Interface {
	if id.VendorID != 0 && (id.VendorID != desc.VendorID || id.ProductID != desc.ProductID) {
		return nil
	}
	if id.MatchInterface {
		return cfg.FindInterface(id.Class, id.Subclass, id.Protocol)
	}
	if len(cfg.Interfaces) == 0 {
		return nil
	}
	return &cfg.Interfaces[0]
}

// interfacesOf lists the matched interface and, for a CDC control interface, its data
// interface: the Union's first subordinate (or master, when the Union is the wrong way round),
// else the next interface when an IAD of two holds both (cdc_ncm's fallback).
func interfacesOf(cfg *usbnic.Config, iface *usbnic.Interface) []uint8 {
	ifs := []uint8{iface.Number}
	alt := iface.Default()
	if alt.Class != usbnic.ClassComm {
		return ifs
	}
	if u := alt.CDC.Union; u != nil {
		data := u.Slaves[0]
		if data == iface.Number {
			data = u.Master
		}
		if data != iface.Number {
			ifs = append(ifs, data)
		}
		return ifs
	}
	if iad := cfg.IADFor(iface.Number); iad != nil && iad.InterfaceCount == 2 && cfg.Interface(iface.Number+1) != nil {
		ifs = append(ifs, iface.Number+1)
	}
	return ifs
}

func reason(desc usbnic.DeviceDesc, configs []*usbnic.Config, best candidate, others []candidate, ifs []uint8) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%04x:%04x bcdDevice %x.%02x", desc.VendorID, desc.ProductID, desc.BcdDevice>>8, desc.BcdDevice&0xFF)
	if len(configs) > 1 {
		fmt.Fprintf(&b, ", %d configurations", len(configs))
	}
	kind := "class"
	if best.id.VendorID != 0 {
		kind = "vendor"
	}
	a := best.iface.Default()
	fmt.Fprintf(&b, ": %s, driver %s on %s configuration %d, interface %d (%02x/%02x/%02x)",
		best.id.Product, best.id.Driver.Name, kind, best.cfg.Value, best.iface.Number, a.Class, a.Subclass, a.Protocol)
	if len(ifs) > 1 {
		fmt.Fprintf(&b, " and data interface %d", ifs[1])
	}
	var passed []string
	classPassed := false
	for _, o := range others {
		if o.cfg == best.cfg && o.id.Driver == best.id.Driver {
			continue
		}
		passed = append(passed, fmt.Sprintf("%s in configuration %d (driver %s)", o.id.Product, o.cfg.Value, o.id.Driver.Name))
		classPassed = classPassed || o.id.VendorID == 0
	}
	if len(passed) > 0 {
		b.WriteString("; not chosen: ")
		b.WriteString(strings.Join(passed, ", "))
	}
	if kind == "vendor" && classPassed {
		b.WriteString("; the vendor driver is preferred, as in Linux")
	}
	return b.String()
}

// Filter is one WebUSB USBDeviceFilter for navigator.usb.requestDevice. Unset fields are nil
// and left out of the JSON.
type Filter struct {
	VendorID     *uint16 `json:"vendorId,omitempty"`
	ProductID    *uint16 `json:"productId,omitempty"`
	ClassCode    *uint8  `json:"classCode,omitempty"`
	SubclassCode *uint8  `json:"subclassCode,omitempty"`
	ProtocolCode *uint8  `json:"protocolCode,omitempty"`
}

// WebUSBFilters returns the requestDevice filters for every row of IDs, in table order. A
// VID:PID row gives vendorId and productId only, even when it also names an interface class:
// the chooser should list the device, and Match checks the interfaces once the configuration
// descriptors can be read. A class row gives classCode, subclassCode and protocolCode, which
// Chrome matches against the device class and every interface.
func WebUSBFilters() []Filter {
	var fs []Filter
	seen := map[[5]int]bool{}
	for i := range IDs {
		id := &IDs[i]
		var f Filter
		key := [5]int{-1, -1, -1, -1, -1}
		if id.VendorID != 0 {
			vid, pid := id.VendorID, id.ProductID
			f.VendorID, f.ProductID = &vid, &pid
			key[0], key[1] = int(vid), int(pid)
		} else {
			class, sub, proto := id.Class, id.Subclass, id.Protocol
			f.ClassCode, f.SubclassCode, f.ProtocolCode = &class, &sub, &proto
			key[2], key[3], key[4] = int(class), int(sub), int(proto)
		}
		if !seen[key] {
			seen[key] = true
			fs = append(fs, f)
		}
	}
	return fs
}
