//go:build js && wasm

package webusb

import (
	"strings"

	"github.com/hack-pad/safejs"
)

// Platform is the operating system the browser runs on. The fix for a failed open or claim
// depends on it: a udev rule and a sysfs unbind on Linux, WinUSB through Zadig on Windows.
type Platform uint8

// Platforms.
const (
	PlatformUnknown Platform = iota
	PlatformLinux
	PlatformWindows
	PlatformMacOS
	PlatformChromeOS
	PlatformAndroid
)

func (p Platform) String() string {
	switch p {
	case PlatformLinux:
		return "Linux"
	case PlatformWindows:
		return "Windows"
	case PlatformMacOS:
		return "macOS"
	case PlatformChromeOS:
		return "ChromeOS"
	case PlatformAndroid:
		return "Android"
	}
	return "unknown platform"
}

// DetectPlatform reads navigator.userAgentData.platform, which Chromium fills in secure
// contexts, and falls back to navigator.platform and the user agent string.
func DetectPlatform() Platform {
	nav, err := safejs.Global().Get("navigator")
	if err != nil || nav.Type() != safejs.TypeObject {
		return PlatformUnknown
	}
	var uaData string
	if d, err := nav.Get("userAgentData"); err == nil && d.Type() == safejs.TypeObject {
		uaData = stringProp(d, "platform")
	}
	return parsePlatform(uaData, stringProp(nav, "platform"), stringProp(nav, "userAgent"))
}

// parsePlatform decides from navigator.userAgentData.platform ("Linux", "Windows", "macOS",
// "Chrome OS" or "ChromeOS", "Android"), else navigator.platform ("Linux x86_64", "Win32",
// "MacIntel", ...) with the user agent telling Android and ChromeOS ("CrOS") from Linux.
func parsePlatform(uaDataPlatform, platform, userAgent string) Platform {
	switch strings.ReplaceAll(strings.ToLower(uaDataPlatform), " ", "") {
	case "linux":
		return PlatformLinux
	case "windows":
		return PlatformWindows
	case "macos":
		return PlatformMacOS
	case "chromeos", "chromiumos":
		return PlatformChromeOS
	case "android":
		return PlatformAndroid
	}
	switch {
	case strings.Contains(userAgent, "Android"):
		return PlatformAndroid
	case strings.Contains(userAgent, "CrOS"):
		return PlatformChromeOS
	case strings.HasPrefix(platform, "Win"):
		return PlatformWindows
	case strings.HasPrefix(platform, "Mac"):
		return PlatformMacOS
	case strings.HasPrefix(platform, "Linux"):
		return PlatformLinux
	}
	return PlatformUnknown
}

// stringProp returns v[name] when it is a string, else "".
func stringProp(v safejs.Value, name string) string {
	p, err := v.Get(name)
	if err != nil || p.Type() != safejs.TypeString {
		return ""
	}
	s, err := p.String()
	if err != nil {
		return ""
	}
	return s
}
