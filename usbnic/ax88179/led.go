package ax88179

import (
	"context"
	"time"

	"webminiport/usbnic"
)

// LED configuration word bits (ax88179_178a.c LED*_ names): which LED shows activity, which link
// speeds, and full duplex. LED_VALID marks a programmed word.
const (
	led0Active   = 1 << 0
	led0Link10   = 1 << 1
	led0Link100  = 1 << 2
	led0Link1000 = 1 << 3
	led0FD       = 1 << 4
	led0USB3Mask = 0x001f
	led1Active   = 1 << 5
	led1Link10   = 1 << 6
	led1Link100  = 1 << 7
	led1Link1000 = 1 << 8
	led1FD       = 1 << 9
	led1USB3Mask = 0x03e0
	led2Active   = 1 << 10
	led2Link10   = 1 << 11
	led2Link100  = 1 << 12
	led2Link1000 = 1 << 13
	led2FD       = 1 << 14
	led2USB3Mask = 0x7c00
	ledValid     = 1 << 15
)

// eepromTimeout bounds each EEPROM busy wait (HZ/10 in Linux).
const eepromTimeout = 100 * time.Millisecond

// ledSetting is ax88179_led_setting: find the LED configuration word (serial EEPROM word 0x42
// when the EEPROM checksum is good, else the eFuse, else the old EEPROM word 0x3C) and program
// the PHY's LED registers on extension page 0x2C and the MAC's LED full-duplex register. Where
// Linux gives up on the LEDs (GPIO write refused, EEPROM stuck busy) we give up too and carry on
// with the reset, as Linux does.
func (m *Minidriver) ledSetting(ctx context.Context, d *usbnic.Device) error {
	// "UA1" silicon needs its GPIOs enabled. Linux reads into a zeroed byte and ignores a failed
	// read, so a refused read also means UA1.
	status, err := readMAC8(ctx, d, regGeneralStatus)
	if err != nil && !refused(err) {
		return err
	}
	if status&secondSilicon == 0 {
		if err := writeMAC8(ctx, d, regGPIOCtrl, gpio1To3Enabled); err != nil {
			if refused(err) {
				return nil
			}
			return err
		}
	}

	var ledvalue uint16
	good, err := m.checkEEPROM(ctx, d)
	if err != nil {
		return err
	}
	if good {
		hi, lo, ok, err := m.sromRead(ctx, d, 0x42)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		ledvalue = uint16(hi)<<8 | uint16(lo)
		if ledvalue == 0xffff || ledvalue&ledValid == 0 {
			if ledvalue, err = convertOldLED(ctx, d, ledvalue); err != nil {
				return err
			}
		}
	} else {
		v, ok, err := checkEFuse(ctx, d)
		if err != nil {
			return err
		}
		if ok {
			ledvalue = v
		}
		if !ok || ledvalue == 0xffff || ledvalue&ledValid == 0 {
			if ledvalue, err = convertOldLED(ctx, d, ledvalue); err != nil {
				return err
			}
		}
	}

	if err := writePHY(ctx, d, phyPageSelect, pageExt); err != nil {
		return err
	}
	if err := writePHY(ctx, d, phyPage, 0x2c); err != nil {
		return err
	}
	ledact, err := readPHY(ctx, d, phyLEDAct)
	if err != nil {
		return err
	}
	ledlink, err := readPHY(ctx, d, phyLEDLink)
	if err != nil {
		return err
	}
	ledact, ledlink = phyLEDRegisters(ledvalue, ledact, ledlink)
	if err := writePHY(ctx, d, phyLEDAct, ledact); err != nil {
		return err
	}
	if err := writePHY(ctx, d, phyLEDLink, ledlink); err != nil {
		return err
	}
	if err := writePHY(ctx, d, phyPageSelect, page0); err != nil {
		return err
	}
	return writeMAC8(ctx, d, regLEDCtrl, ledFullDuplex(ledvalue))
}

// phyLEDRegisters merges the LED word into the PHY's LED activity and link registers.
func phyLEDRegisters(led, act, link uint16) (uint16, uint16) {
	act &= 0xff8f
	link &= 0xf888
	for _, b := range [...]struct {
		led uint16
		reg *uint16
		bit uint16
	}{
		{led0Active, &act, 1 << 4}, {led1Active, &act, 1 << 5}, {led2Active, &act, 1 << 6},
		{led0Link10, &link, 1 << 0}, {led1Link10, &link, 1 << 4}, {led2Link10, &link, 1 << 8},
		{led0Link100, &link, 1 << 1}, {led1Link100, &link, 1 << 5}, {led2Link100, &link, 1 << 9},
		{led0Link1000, &link, 1 << 2}, {led1Link1000, &link, 1 << 6}, {led2Link1000, &link, 1 << 10},
	} {
		if led&b.led != 0 {
			*b.reg |= b.bit
		}
	}
	return act, link
}

// ledFullDuplex is the AX_LEDCTRL byte: per LED, 1 when it shows full duplex, 2 when it shows
// nothing at all.
func ledFullDuplex(led uint16) uint8 {
	var fd uint8
	for i, l := range [...]struct{ fd, mask uint16 }{{led0FD, led0USB3Mask}, {led1FD, led1USB3Mask}, {led2FD, led2USB3Mask}} {
		switch {
		case led&l.fd != 0:
			fd |= 0x01 << (2 * i)
		case led&l.mask == 0:
			fd |= 0x02 << (2 * i)
		}
	}
	return fd
}

// sromRead reads one EEPROM word through the MAC's SROM registers: address, read command, wait
// while busy, then the data bytes. ok is false when the EEPROM stayed busy past the timeout or a
// request was refused (Linux's -EINVAL).
func (m *Minidriver) sromRead(ctx context.Context, d *usbnic.Device, word uint8) (hi, lo uint8, ok bool, err error) {
	if ok, err := m.sromStart(ctx, d, word); !ok || err != nil {
		return 0, 0, false, err
	}
	if hi, err = readMAC8(ctx, d, regSROMDataHigh); err != nil && !refused(err) {
		return 0, 0, false, err
	}
	if lo, err = readMAC8(ctx, d, regSROMDataLow); err != nil && !refused(err) {
		return 0, 0, false, err
	}
	return hi, lo, true, nil
}

// sromStart writes the word address and the read command and waits for the busy bit to clear.
// Like Linux it checks the clock after every poll, so a poll that comes back idle after the
// deadline still counts as a timeout.
func (m *Minidriver) sromStart(ctx context.Context, d *usbnic.Device, word uint8) (bool, error) {
	for _, w := range [...][2]uint8{{regSROMAddr, word}, {regSROMCmd, sromRead}} {
		if err := writeMAC8(ctx, d, uint16(w[0]), w[1]); err != nil {
			if refused(err) {
				return false, nil
			}
			return false, err
		}
	}
	deadline := m.now().Add(eepromTimeout)
	for {
		v, err := readMAC8(ctx, d, regSROMCmd)
		if err != nil && !refused(err) {
			return false, err
		}
		if m.now().After(deadline) {
			return false, nil
		}
		if v&sromBusy == 0 {
			return true, nil
		}
	}
}

// checkEEPROM is ax88179_check_eeprom: read EEPROM words 0..5 through the SROM registers and
// verify the checksum in byte 10 over bytes 6..9. A blank EEPROM (first byte 0xFF) fails.
func (m *Minidriver) checkEEPROM(ctx context.Context, d *usbnic.Device) (bool, error) {
	var eeprom [12]byte
	for i := range uint8(6) {
		if ok, err := m.sromStart(ctx, d, i); !ok || err != nil {
			return false, err
		}
		// Both data registers at once, low byte first, as Linux's raw two-byte read.
		if err := readMAC(ctx, d, regSROMDataLow, eeprom[2*i:2*i+2]); err != nil && !refused(err) {
			return false, err
		}
		if i == 0 && eeprom[0] == 0xff {
			return false, nil
		}
	}
	sum := uint16(eeprom[6]) + uint16(eeprom[7]) + uint16(eeprom[8]) + uint16(eeprom[9])
	sum = sum>>8 + sum&0xff
	return sum+uint16(eeprom[10]) == 0xff, nil
}

// checkEFuse is ax88179_check_efuse: 64 bytes whose byte sum, folded to 8 bits, is 0xFF; the LED
// word is bytes 51 (high) and 52 (low).
func checkEFuse(ctx context.Context, d *usbnic.Device) (uint16, bool, error) {
	var efuse [64]byte
	if err := readCmd(ctx, d, reqAccessEFuse, 0, 64, efuse[:]); err != nil {
		if refused(err) {
			return 0, false, nil
		}
		return 0, false, err
	}
	if efuse[0] == 0xff {
		return 0, false, nil
	}
	var sum uint16
	for _, b := range efuse {
		sum += uint16(b)
	}
	for sum > 255 {
		sum = sum&0xff + sum>>8
	}
	if sum != 0xff {
		return 0, false, nil
	}
	return uint16(efuse[51])<<8 | uint16(efuse[52]), true, nil
}

// convertOldLED is ax88179_convert_old_led: map the old LED mode in the high byte of EEPROM word
// 0x3C to an LED word. When the EEPROM cannot be read Linux keeps the word it had.
func convertOldLED(ctx context.Context, d *usbnic.Device, cur uint16) (uint16, error) {
	w, err := readEEPROM(ctx, d, 0x3c)
	if err != nil {
		if refused(err) {
			return cur, nil
		}
		return cur, err
	}
	switch w >> 8 {
	case 0xfe:
		return led0Active | led1Link1000 | led2Link100 | ledValid, nil
	case 0xfd:
		return led0Active | led1Link1000 | led2Link100 | led2Link10 | ledValid, nil
	case 0xfc:
		return led0Active | led1Active | led1Link1000 | led2Active | led2Link100 | led2Link10 | ledValid, nil
	}
	// 0xFF and everything unknown.
	return led0Active | led1Link10 | led1Link100 | led1Link1000 |
		led2Active | led2Link10 | led2Link100 | led2Link1000 | ledValid, nil
}
