//go:build linux

package main

import (
	"strings"
	"testing"
)

func TestParseKernelPackage(t *testing.T) {
	tests := []struct {
		name, out, pkg, release, err string
	}{
		{
			name:    "bookworm metapackage names the current ABI",
			out:     "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n",
			pkg:     "linux-image-6.1.0-56-amd64",
			release: "6.1.0-56-amd64",
		},
		{
			name:    "alternative dependency line with a leading bar",
			out:     "linux-image-amd64\n |Depends: linux-image-6.12.9-amd64\n  Depends: linux-image-6.12.8-amd64\n",
			pkg:     "linux-image-6.12.9-amd64",
			release: "6.12.9-amd64",
		},
		{
			name: "virtual package in angle brackets is not an image",
			out:  "linux-image-amd64\n  Depends: <linux-image-6.1.0-56-amd64>\n",
			err:  "names no linux-image",
		},
		{
			name: "signed-template and other packages are skipped",
			out:  "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64-unsigned-template\n  Recommends: firmware-linux-free\n",
			err:  "names no linux-image",
		},
		{name: "empty output", out: "", err: "names no linux-image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkg, release, err := parseKernelPackage([]byte(tt.out))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || pkg != tt.pkg || release != tt.release {
				t.Fatalf("got %q, %q, %v; want %q, %q", pkg, release, err, tt.pkg, tt.release)
			}
		})
	}
}

func TestParseShowDepends(t *testing.T) {
	base := "/c/tree/lib/modules"
	tests := []struct {
		name, out string
		want      []string
		err       string
	}{
		{
			name: "dependencies first, paths relative to lib/modules",
			out: "insmod /c/tree/lib/modules/6.1.0-56-amd64/kernel/fs/configfs/configfs.ko \n" +
				"insmod /c/tree/lib/modules/6.1.0-56-amd64/kernel/drivers/usb/gadget/libcomposite.ko \n",
			want: []string{"6.1.0-56-amd64/kernel/fs/configfs/configfs.ko", "6.1.0-56-amd64/kernel/drivers/usb/gadget/libcomposite.ko"},
		},
		{
			name: "builtin lines need no file",
			out:  "builtin crc32c\ninsmod /c/tree/lib/modules/6.1.0-56-amd64/kernel/fs/9p/9p.ko \n",
			want: []string{"6.1.0-56-amd64/kernel/fs/9p/9p.ko"},
		},
		{
			name: "module parameters after the file are ignored",
			out:  "insmod /c/tree/lib/modules/6.1.0-56-amd64/kernel/drivers/usb/gadget/udc/dummy_hcd.ko num=1\n",
			want: []string{"6.1.0-56-amd64/kernel/drivers/usb/gadget/udc/dummy_hcd.ko"},
		},
		{name: "a file outside the tree is refused", out: "insmod /lib/modules/6.1.0-56-amd64/kernel/fs/9p/9p.ko\n", err: "outside"},
		{name: "an unknown line is refused", out: "install /bin/true\n", err: "unexpected line"},
		{name: "only builtins is an error", out: "builtin configfs\n", err: "no module files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseShowDepends([]byte(tt.out), base)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseTsharkFields(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want pcapSummary
		err  string
	}{
		{
			name: "replies, an offer and a malformed frame are counted",
			out:  "1;;1;\n2;;2;\n3;8;;\n4;0;;\n5;0;;\n6;;;_ws.malformed\n",
			want: pcapSummary{frames: 6, echoReplies: 2, dhcpOffers: 1, malformed: 1},
		},
		{
			name: "an ICMP error quoting an echo reply is no reply",
			out:  "1;3,0;;\n2;0;;\n",
			want: pcapSummary{frames: 2, echoReplies: 1},
		},
		{name: "no frames", out: "", want: pcapSummary{}},
		{name: "a short line is refused with its number", out: "1;;;\n2;0\n", err: "line 2 has 2 fields"},
		{name: "a frame number that is no number is refused", out: "x;;;\n", err: "frame number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTsharkFields([]byte(tt.out))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestQemuArgsKeepTheVMOffline(t *testing.T) {
	args := strings.Join(qemuArgs(vmSpec{kernel: "k", initrd: "i", stage2: "/r/vmtest/stage2.sh", guest: "/c/bin/vmguest", runDir: "/c/run"}), " ")
	for _, want := range []string{
		"-nodefaults", "-accel tcg", "-no-reboot",
		"path=/,mount_tag=hostroot,security_model=none,readonly=on",
		"path=/c/run,mount_tag=out",
		"VMTEST_STAGE2=/r/vmtest/stage2.sh", "VMTEST_GUEST=/c/bin/vmguest", "panic=-1",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU arguments lack %q:\n%s", want, args)
		}
	}
	for _, bad := range []string{"-netdev", "-nic", "-net ", "kvm"} {
		if strings.Contains(args, bad) {
			t.Errorf("QEMU arguments contain %q:\n%s", bad, args)
		}
	}
}
