package result

// FFSFunction is the Variant.Function of the variants whose device is one of our own
// usbnic/sim models on dummy_hcd, put there by cmd/ffs-gadget through FunctionFS, rather
// than a Linux gadget function.
const FFSFunction = "ffs"

// FFSOptionsFile is the run folder's file with what the ffs variants need besides Options: the
// gadget program and the kernel modules the guest loads for them.
const FFSOptionsFile = "ffs-options.json"

// FFSOptions is the content of FFSOptionsFile.
type FFSOptions struct {
	Gadget    string              `json:"gadget"`    // cmd/ffs-gadget, built on the host
	ModuleDir string              `json:"moduleDir"` // holds the module files below
	Modules   map[string][]string `json:"modules"`   // group name → module files in load order
}

// Module groups the guest loads; FFSModuleGroups lists the modules each one names, for the
// host to resolve with their dependencies.
const (
	GroupDummyHCD = "dummy_hcd"    // reloaded with is_super_speed=1 for the SuperSpeed variants
	GroupFFS      = "usb_f_fs"     // FunctionFS itself
	GroupGadgetFS = "gadgetfs"     // GadgetFS, for the CDC models FunctionFS cannot carry
	GroupAX88179  = "ax88179_178a" // Linux's host driver for the AX88179
	GroupAX88772  = "asix"         // Linux's host driver for the AX88772, with its PHY driver
	GroupCDCEther = "cdc_ether"    // Linux's host driver for CDC-ECM
	GroupCDCNCM   = "cdc_ncm"      // Linux's host driver for CDC-NCM
)

// FFSModuleGroups maps each group to the modules modprobe resolves for it. ax88796b is the
// AX88772's PHY driver: phylib would load it through its module alias, but the guest's
// userland has no modules for the guest's kernel, so the bench loads it as a real system
// would have it.
var FFSModuleGroups = map[string][]string{
	GroupDummyHCD: {"dummy_hcd"},
	GroupFFS:      {"usb_f_fs"},
	GroupGadgetFS: {"gadgetfs"},
	GroupAX88179:  {"ax88179_178a"},
	GroupAX88772:  {"ax88796b", "asix"},
	GroupCDCEther: {"cdc_ether"},
	GroupCDCNCM:   {"cdc_ncm"},
}

// FFSVariant is how an ffs variant runs.
type FFSVariant struct {
	Name  string
	Model string // the usbnic/sim model cmd/ffs-gadget serves
	// SuperSpeed loads dummy_hcd with is_super_speed=1, so a USB 3 model enumerates at
	// SuperSpeed (the AX88179 aggregates bulk-IN transfers differently there).
	SuperSpeed bool
	// HostDriver is the Linux driver that must bind to the device, and its module group; both
	// empty for the page variants, where no host driver is loaded and our page drives the
	// device through WebUSB.
	HostDriver, Group string
	// Unload are the modules to remove afterwards, so that later variants find no host
	// driver: the host driver and whatever else of its group binds devices.
	Unload []string
	// MAC is the adapter's permanent address (cmd/ffs-gadget -mac), which the driver must
	// read; GatewayMAC is the model's network's gateway (-gateway-mac), which ARP must
	// resolve. Each variant has its own, as the gadget-function variants do.
	MAC, GatewayMAC string
	// LinkMbps and Duplex are what the driver must report through ethtool: the model's PHY
	// and link partner for the ASIX chips; for CDC, the bit rate of the model's
	// CONNECTION_SPEED_CHANGE, and "half": usbnet_get_link_ksettings_internal sets no duplex,
	// and the zeroed ethtool settings read as DUPLEX_HALF.
	LinkMbps int
	Duplex   string
	// TxBytesFrames: the driver counts tx_bytes as frame bytes (cdc_ncm_tx_fixup gives usbnet a
	// byte delta), not as bulk-OUT transfer bytes as the others do.
	TxBytesFrames bool
	PageDriver    string // page variants: the minidriver the page must bind
	VIDPID        string // the model's VID:PID, for the page's check and the WebUSB policy
	About         string
}

// FFSVariants are the variants of issue 8, in the order the bench runs them: Linux's host
// drivers first, then the page, so the page variants find no host driver loaded (each host
// variant unloads its driver again).
var FFSVariants = []FFSVariant{
	{Name: "ffs-ax88179", Model: "AX88179", HostDriver: "ax88179_178a", Group: GroupAX88179, Unload: []string{"ax88179_178a"},
		MAC: "00:0e:c6:81:79:11", GatewayMAC: "02:77:00:00:01:11", LinkMbps: 1000, Duplex: "full", VIDPID: "0b95:1790",
		About: "our AX88179 model (FunctionFS, high speed) under Linux's ax88179_178a"},
	{Name: "ffs-ax88179-ss", Model: "AX88179", SuperSpeed: true, HostDriver: "ax88179_178a", Group: GroupAX88179, Unload: []string{"ax88179_178a"},
		MAC: "00:0e:c6:81:79:12", GatewayMAC: "02:77:00:00:01:12", LinkMbps: 1000, Duplex: "full", VIDPID: "0b95:1790",
		About: "our AX88179 model (FunctionFS, SuperSpeed) under Linux's ax88179_178a"},
	{Name: "ffs-ax88772", Model: "AX88772", HostDriver: "asix", Group: GroupAX88772, Unload: []string{"asix"},
		MAC: "00:0e:c6:87:72:11", GatewayMAC: "02:77:00:00:01:21", LinkMbps: 100, Duplex: "full", VIDPID: "0b95:7720",
		About: "our AX88772 model (FunctionFS, high speed) under Linux's asix"},
	{Name: "ffs-ax88772a", Model: "AX88772A", HostDriver: "asix", Group: GroupAX88772, Unload: []string{"asix"},
		MAC: "00:0e:c6:87:72:a1", GatewayMAC: "02:77:00:00:01:23", LinkMbps: 100, Duplex: "full", VIDPID: "0b95:772a",
		About: "our AX88772A model (FunctionFS) under Linux's asix: ax88772a_hw_reset, PHY tuning registers"},
	{Name: "ffs-ax88772b", Model: "AX88772B", HostDriver: "asix", Group: GroupAX88772, Unload: []string{"asix"},
		MAC: "00:0e:c6:87:72:b1", GatewayMAC: "02:77:00:00:01:24", LinkMbps: 100, Duplex: "full", VIDPID: "0b95:772b",
		About: "our AX88772B model (FunctionFS) under Linux's asix: MAC from EEPROM words 4-6, QCTCTRL, AX88772C PHY"},
	{Name: "ffs-ecm", Model: "CDC-ECM", HostDriver: "cdc_ether", Group: GroupCDCEther, Unload: []string{"cdc_ether"},
		MAC: "02:77:6d:00:10:01", GatewayMAC: "02:77:00:00:01:31", LinkMbps: 425, Duplex: "half", VIDPID: "1d6b:0104",
		About: "our CDC-ECM model (GadgetFS: FunctionFS refuses CDC descriptors) under Linux's cdc_ether"},
	{Name: "ffs-ncm", Model: "CDC-NCM", HostDriver: "cdc_ncm", Group: GroupCDCNCM, Unload: []string{"cdc_ncm", "cdc_ether"},
		MAC: "02:77:6d:00:10:02", GatewayMAC: "02:77:00:00:01:32", LinkMbps: 425, Duplex: "half", TxBytesFrames: true, VIDPID: "1d6b:0104",
		About: "our CDC-NCM model (GadgetFS: FunctionFS refuses CDC descriptors) under Linux's cdc_ncm"},
	{Name: "page-ax88179", Model: "AX88179", PageDriver: "ax88179_178a",
		MAC: "00:0e:c6:81:79:13", GatewayMAC: "02:77:00:00:01:13", LinkMbps: 1000, Duplex: "full", VIDPID: "0b95:1790",
		About: "our AX88179 model (FunctionFS) driven by our page over WebUSB"},
	{Name: "page-ax88772", Model: "AX88772", PageDriver: "asix",
		MAC: "00:0e:c6:87:72:12", GatewayMAC: "02:77:00:00:01:22", LinkMbps: 100, Duplex: "full", VIDPID: "0b95:7720",
		About: "our AX88772 model (FunctionFS) driven by our page over WebUSB"},
}

// LookupFFSVariant finds an ffs variant by name.
func LookupFFSVariant(name string) (FFSVariant, bool) {
	for _, v := range FFSVariants {
		if v.Name == name {
			return v, true
		}
	}
	return FFSVariant{}, false
}

// The ffs variants join Variants here, so that the command line, the defaults and the table
// know them like the gadget-function variants, with Function FFSFunction telling them apart.
func init() {
	for _, v := range FFSVariants {
		driver := v.HostDriver
		if driver == "" {
			driver = v.PageDriver
		}
		Variants = append(Variants, Variant{Name: v.Name, Function: FFSFunction, Driver: driver,
			HostMAC: v.MAC, DevMAC: v.GatewayMAC, About: v.About})
	}
}

// ExportsPcap reports whether the variant's page exports a capture for tshark: every variant
// with a page does; the ffs variants under a Linux host driver have none.
func ExportsPcap(name string) bool {
	v, ok := LookupFFSVariant(name)
	return !ok || v.HostDriver == ""
}
