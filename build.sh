#!/usr/bin/env bash
# build.sh — the one entry point of webminiport: build, serve, test, bench, fuzz.
# Run `./build.sh help` for the commands and the environment variables they read.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
TOOLS_DIR="$ROOT/.tools"         # git-ignored: programs build.sh builds for the tests
TOOLS_BIN="$TOOLS_DIR/bin"
RUNNER="$TOOLS_BIN/go_js_wasm_exec" # cmd/go runs GOOS=js test binaries through this name on PATH
RUNNER_STAMP="$TOOLS_DIR/go_js_wasm_exec.stamp"
OUT_DIR="$ROOT/.cache/build.sh" # git-ignored: logs and raw outputs of the last run
MIN_GO_MINOR=24                   # go.mod says go 1.24; wasm_exec.js lives in lib/wasm from 1.24 on

# The browser names chromedp (inside wasmbrowsertest) looks for on Linux, in its order.
CHROME_NAMES=(headless_shell headless-shell chromium chromium-browser google-chrome google-chrome-stable
	google-chrome-beta google-chrome-unstable)

usage() {
	cat <<'EOF'
usage: ./build.sh <command> [args]

commands:
  build            build web/main.wasm (GOOS=js), copy wasm_exec.js into web/, write
                   web/main.wasm.gz and web/main.wasm.br (when the brotli tool exists), print sizes
  serve [addr]     build, then run the dev server on addr (default $ADDR or 127.0.0.1:8080)
  test             install what the tests need (Chromium, tshark, the wasm test runner), then run
                   gofmt, go vet, go test -race, and every package's tests under GOOS=js in headless
                   Chromium; prints a PASS/FAIL summary with times
  bench [pkgs]     run every benchmark natively and in headless Chromium and write BENCHMARKS.md
                   (pkgs defaults to ./...)
  fuzz [seconds]   run every fuzz target for the given time each (default 60), one at a time
  vmtest [args]    the page against Linux's CDC-ECM/NCM gadgets in real Chromium in a QEMU VM
                   (installs QEMU, busybox-static, kmod, cpio, dnsmasq; kernel cached in .cache/vm;
                   args go to vmtest/: -variants ecm,ncm,ncm-fullspeed  -page plumbing  -timeout 25m)
  help             this text

environment:
  ADDR                 serve: listen address (default 127.0.0.1:8080)
  TEST_TIMEOUT         test: go test -timeout for native packages (default 15m)
  WASM_TEST_TIMEOUT    test: go test -timeout for each GOOS=js package (default 5m)
  BENCH_COUNT          bench: -count (default 1)
  BENCH_TIME           bench: -benchtime (default 1s)
  WEBMINIPORT_BENCH_HEAP        bench: the page's 64-byte flood measures the wasm heap after 1 and
                                5 minutes (default); "short" after 15 and 45 s; "off" not at all
  WEBMINIPORT_BENCH_CPUPROFILE  bench: 1 records Chromium's CPU profile of the page under each
                                flood into .cache/cpuprofile/ and logs its top functions
EOF
}

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
	printf 'build.sh: error: %s\n' "$*" >&2
	exit 1
}

is_root() { [[ $(id -u) == 0 ]]; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# Go

check_go() {
	have go || die "go not found on PATH: install Go 1.$MIN_GO_MINOR or newer from https://go.dev/dl/ and put its bin/ on PATH"
	local v minor
	v=$(go env GOVERSION)
	minor=$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$v")
	if ! [[ $minor =~ ^[0-9]+$ ]]; then
		note "cannot tell which Go release '$v' is; going on as if it were new enough"
	elif ((minor < MIN_GO_MINOR)); then
		die "Go $v is too old: webminiport needs Go 1.$MIN_GO_MINOR or newer (https://go.dev/dl/)"
	fi
}

# ---------------------------------------------------------------------------------------------
# System packages. Installed with apt when running as root on Debian/Ubuntu; otherwise the missing
# thing is named with the command that installs it.

APT_UPDATED=0
apt_install() {
	if ! have apt-get; then
		die "missing $*: install it with your system's package manager (this script knows only apt-get)"
	fi
	if ! is_root; then
		die "missing $*: run  sudo apt-get update && sudo apt-get install -y $*  and run build.sh again"
	fi
	if ((APT_UPDATED == 0)); then
		say "apt-get update"
		apt-get update -qq
		APT_UPDATED=1
	fi
	say "apt-get install -y $*"
	# tshark asks whether non-root users may capture; answer no so the install never waits for input.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$OUT_DIR/apt-install.log" 2>&1 ||
		{ tail -n 30 "$OUT_DIR/apt-install.log" >&2; die "apt-get install -y $* failed (log: $OUT_DIR/apt-install.log)"; }
}

find_chrome() {
	local n
	for n in "${CHROME_NAMES[@]}"; do
		if have "$n"; then
			command -v "$n"
			return 0
		fi
	done
	return 1
}

chrome_version() {
	local c
	c=$(find_chrome) || { echo "none"; return; }
	# Debian's wrapper script prints a harmless shell error on stderr; only the version is wanted.
	"$c" --version 2>/dev/null | head -n 1
}

# ensure_packages installs, in one apt run, every system package the tests need that is missing.
ensure_packages() {
	local missing=()
	find_chrome >/dev/null || missing+=(chromium)
	have tshark || missing+=(tshark)
	# go test -race needs cgo, and cgo needs a C compiler.
	have gcc || have "$(go env CC)" || missing+=(gcc)
	# brotli is optional (build skips main.wasm.br without it), so it rides along only when
	# apt runs anyway or can run without asking anyone.
	if ! have brotli && is_root && have apt-get; then
		missing+=(brotli)
	fi
	if ((${#missing[@]} > 0)); then
		apt_install "${missing[@]}"
	fi
	local c
	c=$(find_chrome) || die "Chromium still not found after installing it: none of ${CHROME_NAMES[*]} is on PATH"
	note "browser: $c ($(chrome_version))"
	note "tshark:  $(tshark --version 2>/dev/null | head -n 1)"
	[[ $(go env CGO_ENABLED) == 1 ]] ||
		die "cgo is disabled (CGO_ENABLED=$(go env CGO_ENABLED)) but go test -race needs it: install gcc and unset CGO_ENABLED"
}

# ensure_runner builds wasmbrowsertest from the tools module as .tools/bin/go_js_wasm_exec, only
# when it is missing or the tools module's pinned versions (or Go itself) changed since it was built.
ensure_runner() {
	local want
	want=$(cat tools/go.mod tools/go.sum <(go env GOVERSION) | sha256sum | cut -d' ' -f1)
	if [[ -x $RUNNER && -f $RUNNER_STAMP && $(cat "$RUNNER_STAMP") == "$want" ]]; then
		note "wasm test runner up to date: $RUNNER"
		return 0
	fi
	say "building the wasm test runner (wasmbrowsertest, pinned in tools/go.mod) into $RUNNER"
	mkdir -p "$TOOLS_BIN"
	# No -trimpath: the runner finds wasm_exec.js through runtime.GOROOT().
	(cd tools && go build -o "$RUNNER" github.com/agnivade/wasmbrowsertest)
	echo "$want" >"$RUNNER_STAMP"
}

# warm_chrome starts the browser once so that the first test package does not pay the cold start,
# which can exceed chromedp's fixed 20 s wait ("websocket url timeout reached").
warm_chrome() {
	local c profile args
	c=$(find_chrome) || die "no browser to warm: install chromium"
	profile=$(mktemp -d)
	args=(--headless --disable-gpu --disable-quic --no-first-run --disable-background-networking
		--disable-component-update --disable-sync --user-data-dir="$profile" --dump-dom about:blank)
	is_root && args=(--no-sandbox "${args[@]}")
	say "warming $c"
	local rc=0
	timeout 90 "$c" "${args[@]}" >/dev/null 2>"$OUT_DIR/chrome-warm.log" || rc=$?
	rm -rf "$profile"
	((rc == 0)) || { tail -n 20 "$OUT_DIR/chrome-warm.log" >&2; return "$rc"; }
}

# ---------------------------------------------------------------------------------------------
# Running go under GOOS=js in headless Chromium

# wasm_env runs its arguments with a small environment: wasmbrowsertest copies every variable into
# the Go program's environment and wasm_exec.js refuses to start when argv plus env exceed ~12 KB.
wasm_env() {
	local vars=(PATH="$TOOLS_BIN:$PATH" HOME="$HOME" GOOS=js GOARCH=wasm)
	local v
	for v in TMPDIR GOPATH GOCACHE GOMODCACHE GOFLAGS GOPROXY GOROOT GOTOOLCHAIN GOSUMDB GONOSUMDB \
		GOPRIVATE GONOPROXY GOINSECURE GOENV WASM_HEADLESS; do
		if [[ -n ${!v:-} ]]; then
			vars+=("$v=${!v}")
		fi
	done
	env -i "${vars[@]}" "$@"
}

# wasm_test_packages prints the packages that build for js/wasm and have test files.
wasm_test_packages() {
	GOOS=js GOARCH=wasm go list -e -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "$@" | sed '/^$/d'
}

# wasm_go_test runs `go test ARGS PKG` under GOOS=js for one package, and once more only when the
# browser failed to start in time (chromedp's "websocket url timeout reached"), a known flake.
wasm_go_test() {
	local log="$1"
	shift
	local rc=0
	run_logged "$log" wasm_env go test "$@" || rc=$?
	if ((rc != 0)) && grep -qF "websocket url timeout reached" "$log"; then
		note "browser start timed out (websocket url timeout reached); retrying once"
		rc=0
		run_logged "$log" wasm_env go test "$@" || rc=$?
	fi
	return "$rc"
}

# run_logged LOG CMD... runs CMD, shows its output and keeps a copy in LOG; returns CMD's status.
run_logged() {
	local log="$1" rc=0
	shift
	"$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
	return "$rc"
}

# ---------------------------------------------------------------------------------------------
# Steps with a summary

STEP_NAMES=()
STEP_RESULTS=()
STEP_TIMES=()
FAILED=0

# step NAME CMD... runs CMD, records PASS/FAIL and its duration, and never stops the script.
step() {
	local name="$1"
	shift
	say "$name"
	local t0=$EPOCHREALTIME rc
	# A subshell, so that die inside a step fails the step and not the script, and outside any
	# `||`, because bash ignores set -e in everything run on the left of one.
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	set -e
	local t1=$EPOCHREALTIME
	STEP_NAMES+=("$name")
	STEP_TIMES+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1fs", b - a }')")
	if ((rc == 0)); then
		STEP_RESULTS+=(PASS)
	else
		STEP_RESULTS+=(FAIL)
		FAILED=1
		note "FAIL: $name (exit $rc)"
	fi
	return 0
}

# skip NAME REASON records a step that could not run because an earlier one failed.
skip() {
	STEP_NAMES+=("$1 ($2)")
	STEP_RESULTS+=(SKIP)
	STEP_TIMES+=("-")
	FAILED=1
}

summary() {
	local i
	echo
	say "summary"
	for i in "${!STEP_NAMES[@]}"; do
		printf '    %-4s  %8s  %s\n' "${STEP_RESULTS[$i]}" "${STEP_TIMES[$i]}" "${STEP_NAMES[$i]}"
	done
	if ((FAILED)); then
		echo "FAIL"
		return 1
	fi
	echo "PASS"
}

# last_step_passed is true when the most recent step passed.
last_step_passed() { [[ ${STEP_RESULTS[-1]} == PASS ]]; }

# ---------------------------------------------------------------------------------------------
# build

cmd_build() {
	check_go
	mkdir -p "$OUT_DIR"
	say "GOOS=js GOARCH=wasm go build -trimpath -o web/main.wasm ./wasm"
	GOOS=js GOARCH=wasm go build -trimpath -o web/main.wasm ./wasm
	local goroot
	goroot=$(go env GOROOT)
	[[ -f $goroot/lib/wasm/wasm_exec.js ]] ||
		die "missing $goroot/lib/wasm/wasm_exec.js: this Go install is incomplete; reinstall Go from https://go.dev/dl/"
	say "cp $goroot/lib/wasm/wasm_exec.js web/"
	cp "$goroot/lib/wasm/wasm_exec.js" web/wasm_exec.js

	have gzip || die "missing gzip: install it (Debian: apt-get install -y gzip)"
	say "gzip -9 web/main.wasm -> web/main.wasm.gz"
	gzip -9 -n -c web/main.wasm >web/main.wasm.gz.tmp
	mv web/main.wasm.gz.tmp web/main.wasm.gz

	if ! have brotli && is_root && have apt-get; then
		apt_install brotli
	fi
	if have brotli; then
		say "brotli -q 11 web/main.wasm -> web/main.wasm.br"
		brotli -q 11 -f -o web/main.wasm.br web/main.wasm
	else
		# A stale .br would be served for a new main.wasm, so it goes.
		rm -f web/main.wasm.br
		note "brotli not found: skipped web/main.wasm.br (install: apt-get install -y brotli); gzip is served instead"
	fi

	say "sizes"
	local f
	for f in web/main.wasm web/main.wasm.gz web/main.wasm.br web/wasm_exec.js; do
		[[ -f $f ]] || continue
		local n
		n=$(wc -c <"$f")
		printf '    %-20s %10d bytes  %6.2f MB\n' "$f" "$n" "$(awk -v n="$n" 'BEGIN { print n / 1e6 }')"
	done
}

# ---------------------------------------------------------------------------------------------
# serve

cmd_serve() {
	local addr="${1:-${ADDR:-127.0.0.1:8080}}"
	cmd_build
	[[ -d server ]] || die "missing server/: the dev server package is not in this checkout yet"
	say "go run ./server -addr $addr -dir web   (Ctrl-C stops it)"
	exec go run ./server -addr "$addr" -dir web
}

# ---------------------------------------------------------------------------------------------
# test

check_gofmt() {
	local files
	files=$(find . -path './.*' -prune -o -name '*.go' -type f -print | sort | xargs -r gofmt -l)
	if [[ -n $files ]]; then
		echo "gofmt would change these files (run gofmt -w on them):"
		echo "$files"
		return 1
	fi
}

tools_module_checks() {
	(cd tools && go vet ./... && go test ./...)
}

native_tests() {
	# The page tests build and serve the page themselves: go test cannot see that the page's
	# sources changed, so their result is never taken from the test cache.
	local pkgs
	pkgs=$(go list ./... | grep -v '/wasm/e2e$')
	# shellcheck disable=SC2086 # one package path per word
	local rc=0
	go test -race -timeout "${TEST_TIMEOUT:-15m}" $pkgs || rc=1
	go test -race -count=1 -timeout "${TEST_TIMEOUT:-15m}" ./wasm/e2e/ || rc=1
	return "$rc"
}

wasm_vet() {
	GOOS=js GOARCH=wasm go vet ./...
}

wasm_tests() {
	local pkgs
	pkgs=$(wasm_test_packages ./...)
	if [[ -z $pkgs ]]; then
		note "no package with test files builds for js/wasm yet"
		return 0
	fi
	local pkg failed=() log
	mkdir -p "$OUT_DIR/wasm-test"
	# One package per go test run, so one browser at a time: several starting together on a busy
	# machine is what makes chromedp's 20 s wait for the browser run out.
	for pkg in $pkgs; do
		log="$OUT_DIR/wasm-test/${pkg//\//_}.log"
		# Go on wasm has one thread and no preemption: a test that spins never lets the test
		# timer fire, so a hang ends only when go test kills the runner at -timeout plus a minute.
		wasm_go_test "$log" -timeout "${WASM_TEST_TIMEOUT:-5m}" "$pkg" || failed+=("$pkg")
	done
	if ((${#failed[@]} > 0)); then
		echo "GOOS=js tests failed in: ${failed[*]} (logs in $OUT_DIR/wasm-test/)"
		echo "to see which test failed or hung, rerun one package with -v:"
		echo "    PATH=$TOOLS_BIN:\$PATH GOOS=js GOARCH=wasm go test -v -timeout 2m ${failed[0]}"
		return 1
	fi
}

cmd_test() {
	check_go
	mkdir -p "$OUT_DIR"
	step "set-up: Chromium, tshark, C compiler" ensure_packages
	local setup_ok=0
	last_step_passed && setup_ok=1
	step "set-up: wasm test runner (wasmbrowsertest)" ensure_runner
	last_step_passed || setup_ok=0

	step "gofmt -l" check_gofmt
	step "go vet ./..." go vet ./...
	step "tools module: go vet, go test" tools_module_checks
	step "go test -race ./..." native_tests
	step "build (web/main.wasm)" cmd_build
	step "GOOS=js go vet ./..." wasm_vet
	if ((setup_ok)); then
		step "warm Chromium" warm_chrome
		step "GOOS=js go test (headless Chromium, one package at a time)" wasm_tests
	else
		skip "GOOS=js go test" "set-up failed"
	fi
	summary
}

# ---------------------------------------------------------------------------------------------
# bench

cmd_bench() {
	check_go
	mkdir -p "$OUT_DIR"
	local pkgs=("$@")
	((${#pkgs[@]} > 0)) || pkgs=(./...)
	local count="${BENCH_COUNT:-1}" benchtime="${BENCH_TIME:-1s}"
	local native="$OUT_DIR/bench-native.txt" wasm="$OUT_DIR/bench-wasm.txt"
	local flags=(-run=NONE -bench=. -benchmem -count="$count" -benchtime="$benchtime" -timeout=60m)

	step "set-up: Chromium" ensure_packages
	step "set-up: wasm test runner (wasmbrowsertest)" ensure_runner

	# -p 1 so that two packages never measure at the same time.
	step "native benchmarks (go test ${flags[*]} -p 1)" \
		run_logged "$native" go test -p 1 "${flags[@]}" "${pkgs[@]}"

	local wpkgs
	wpkgs=$(wasm_test_packages "${pkgs[@]}")
	: >"$wasm"
	if [[ -n $wpkgs ]]; then
		step "warm Chromium" warm_chrome
		local pkg
		# One package per go test run: one browser at a time, and no two packages measured together.
		for pkg in $wpkgs; do
			step "GOOS=js benchmarks $pkg" wasm_bench_one "$pkg" "${flags[@]}"
		done
	fi

	local cpu chrome
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
	chrome=$(chrome_version)
	step "write BENCHMARKS.md" \
		bash -c 'cd tools && go run ./cmd/benchtable "$@"' _ \
		-native "$native" -wasm "$wasm" -out "$ROOT/BENCHMARKS.md" \
		-go "$(go version)" -cpu "${cpu:-unknown}" -chromium "$chrome" \
		-date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
		-settings "-count=$count -benchtime=$benchtime" \
		-ratio "webminiport/pool:BenchmarkPoolAllocFree:BenchmarkSyncPoolBaseline" \
		-ratio "webminiport/pool:BenchmarkPoolAllocFree:BenchmarkChanPoolBaseline"
	summary
}

# wasm_bench_one benchmarks one package in headless Chromium and appends its output to the wasm log.
wasm_bench_one() {
	local pkg="$1" log
	shift
	log="$OUT_DIR/bench-wasm-${pkg//\//_}.txt"
	local rc=0
	wasm_go_test "$log" "$@" "$pkg" || rc=$?
	cat "$log" >>"$OUT_DIR/bench-wasm.txt"
	return "$rc"
}

# ---------------------------------------------------------------------------------------------
# fuzz

cmd_fuzz() {
	check_go
	mkdir -p "$OUT_DIR"
	local seconds="${1:-60}"
	if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
		die "fuzz: seconds must be a positive whole number, got '$seconds'"
	fi

	say "go test -list '^Fuzz' ./...  (finding fuzz targets)"
	local listing
	listing=$(go test -list '^Fuzz' ./...) || { echo "$listing"; die "could not list fuzz targets (see above)"; }
	# go test -list prints each package's names, then "ok  <pkg>  <time>".
	local targets=() names=() line
	while IFS= read -r line; do
		if [[ $line =~ ^Fuzz[A-Za-z0-9_]*$ ]]; then
			names+=("$line")
		elif [[ $line =~ ^ok[[:space:]]+([^[:space:]]+) ]]; then
			local n
			for n in "${names[@]}"; do
				targets+=("${BASH_REMATCH[1]} $n")
			done
			names=()
		fi
	done <<<"$listing"
	if ((${#targets[@]} == 0)); then
		note "no fuzz targets found"
		return 0
	fi
	note "${#targets[@]} fuzz targets, ${seconds}s each"

	local t pkg name
	for t in "${targets[@]}"; do
		pkg=${t% *}
		name=${t#* }
		step "fuzz $pkg $name (${seconds}s)" fuzz_one "$pkg" "$name" "$seconds"
	done
	summary
}

# fuzz_one runs one fuzz target for seconds. Go 1.26's fuzzing coordinator can end a run that
# found nothing with a bare "context deadline exceeded" when -fuzztime expires while a worker is
# mid-input (go.dev/issue/75804, fixed in Go 1.27): such a run, with no failing input written, is
# run once more; a finding or any other failure fails at once.
fuzz_one() {
	local pkg="$1" name="$2" seconds="$3" log rc attempt
	log="$OUT_DIR/fuzz-$name.log"
	for attempt in 1 2; do
		rc=0
		run_logged "$log" go test -run='^$' -fuzz="^${name}\$" -fuzztime="${seconds}s" "$pkg" || rc=$?
		if ((rc == 0)); then
			return 0
		fi
		if ((attempt == 1)) && grep -q '^    context deadline exceeded$' "$log" &&
			! grep -q -e 'Failing input written' -e '^panic:' -e '_test.go:[0-9]*:' "$log"; then
			note "the fuzzing coordinator's deadline race (go.dev/issue/75804), no input found: once more"
			continue
		fi
		return "$rc"
	done
}

# ---------------------------------------------------------------------------------------------
# vmtest

# cmd_vmtest installs what the VM bench needs, builds the page and hands over to vmtest/ (Go),
# which fetches the kernel into .cache/vm, boots QEMU and prints a table per variant.
cmd_vmtest() {
	check_go
	mkdir -p "$OUT_DIR"
	local missing=()
	# The guest runs Debian's Chromium from the host root, by this path.
	[[ -x /usr/lib/chromium/chromium ]] || missing+=(chromium)
	have tshark || missing+=(tshark)
	have qemu-system-x86_64 || missing+=(qemu-system-x86)
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q ' installed$' || missing+=(busybox-static)
	[[ -x /sbin/depmod || -x /usr/sbin/depmod ]] || missing+=(kmod)
	have cpio || missing+=(cpio)
	[[ -x /usr/sbin/dnsmasq ]] || missing+=(dnsmasq-base)
	((${#missing[@]} == 0)) || apt_install "${missing[@]}"
	cmd_build
	say "go build ./vmtest"
	go build -o .cache/vm/bin/vmtest ./vmtest
	exec .cache/vm/bin/vmtest -repo "$ROOT" "$@"
}

# ---------------------------------------------------------------------------------------------

main() {
	local cmd="${1:-help}"
	(($# > 0)) && shift
	case "$cmd" in
	build) cmd_build "$@" ;;
	serve) cmd_serve "$@" ;;
	test) cmd_test "$@" ;;
	bench) cmd_bench "$@" ;;
	fuzz) cmd_fuzz "$@" ;;
	vmtest) cmd_vmtest "$@" ;;
	help | -h | --help) usage ;;
	*)
		usage >&2
		die "unknown command '$cmd'"
		;;
	esac
}

main "$@"
