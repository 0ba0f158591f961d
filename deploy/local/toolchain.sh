#!/usr/bin/env bash
# Check the build tools Veza needs.
#
#   deploy/local/toolchain.sh          Go is installed
#   deploy/local/toolchain.sh --race   ... and a C compiler for `go test -race`
#   deploy/local/toolchain.sh --test   ... and redis-server, which the tests
#                                      run privately (one per test package),
#                                      promtool, which checks the alert rules
#                                      in deploy/prometheus, Node.js and npm,
#                                      which run the OpenAPI tools of tools/
#                                      (installed there with npm ci), and
#                                      Chromium, which opens the /docs page
#
# Go itself is never installed here. The C compiler, redis-server, Node.js,
# npm and Chromium are installed with apt-get when running as root; otherwise
# the script says what to install and exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"

GO="${GO:-go}"

if ! command -v "$GO" >/dev/null 2>&1; then
	want="$(sed -n 's/^go \([0-9.]*\).*/\1/p' go.mod 2>/dev/null | head -n 1)"
	printf '%s\n' "Go is not installed ('$GO' is not on PATH). Install Go ${want:-(see go.mod)} or newer from https://go.dev/dl/ and run this again." >&2
	exit 1
fi

mode="${1:-}"
[[ "$mode" == --race || "$mode" == --test ]] || exit 0

# apt_install PKG... WHY: installs as root, or says what to do and exits.
apt_install() {
	local why="${*: -1}"
	local pkgs=("${@:1:$#-1}")
	if [[ "$(id -u)" != 0 ]]; then
		local them=it
		((${#pkgs[@]} == 1)) || them=them
		printf '%s\n' "$why: install $them with:  sudo apt-get install -y ${pkgs[*]}" >&2
		exit 1
	fi
	command -v apt-get >/dev/null 2>&1 || {
		printf '%s\n' "$why, and apt-get is not available: install ${pkgs[*]}, then run this again." >&2
		exit 1
	}
	echo "installing ${pkgs[*]} with apt-get..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

# test_packages prints the Debian packages the tests need and lack, one a
# line, each with what it is for after a tab.
test_packages() {
	if ! command -v redis-server >/dev/null 2>&1 && [[ ! -x /usr/bin/redis-server ]]; then
		printf 'redis-server\tto start private Redis servers\n'
	fi
	# Debian 12's Node.js is 18: the tools in tools/package.json are pinned
	# to versions that run on it.
	command -v node >/dev/null 2>&1 || printf 'nodejs\tto run the OpenAPI tools of test/contract\n'
	command -v npm >/dev/null 2>&1 || printf 'npm\tto install those tools\n'
	if ! command -v chromium >/dev/null 2>&1 && [[ ! -x /usr/bin/chromium ]]; then
		printf 'chromium\tto open the /docs page in test/docsui\n'
	fi
}

# install_npm_tools runs npm ci in tools/ when tools/package-lock.json changed
# since the last install (a stamp in node_modules holds its hash), so that a
# second make test does not reinstall them. Install scripts are not run: no
# tool needs one (the two packages that have one only print a banner or
# send usage statistics).
install_npm_tools() {
	local stamp=tools/node_modules/.veza-package-lock.sha256 want
	want="$(sha256sum tools/package-lock.json | cut -d' ' -f1)"
	if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
		return 0
	fi
	echo "installing the npm tools of tools/package.json (npm ci)..."
	if ! (cd tools && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
		printf '%s\n' "npm ci failed in tools/ (see above); the OpenAPI checks need those tools." >&2
		exit 1
	fi
	printf '%s\n' "$want" >"$stamp"
}

if [[ "$mode" == --test ]]; then
	missing="$(test_packages)"
	if [[ -n "$missing" ]]; then
		mapfile -t pkgs < <(cut -f1 <<<"$missing")
		why="the tests need $(cut -f1,2 <<<"$missing" | sed 's/\t/ (/; s/$/)/' | paste -sd ';' - | sed 's/;/, /g')"
		apt_install "${pkgs[@]}" "$why"
	fi
	install_npm_tools
fi

if [[ "$mode" == --test ]] && ! command -v promtool >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
	# Optional: without root the rules test says it did not run.
	echo "installing prometheus (for promtool) with apt-get..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
		echo "could not install prometheus; the alert rules will not be checked" >&2
fi

# The race detector needs cgo, hence a C compiler.
cc="$("$GO" env CC 2>/dev/null || true)"
cc="${cc%% *}"
cc="${cc:-gcc}"
command -v "$cc" >/dev/null 2>&1 && exit 0

if [[ "$(id -u)" != 0 ]]; then
	printf '%s\n' "go test -race needs a C compiler ('$cc' not found). Install one with:  sudo apt-get install -y gcc libc6-dev" >&2
	exit 1
fi
command -v apt-get >/dev/null 2>&1 || {
	printf '%s\n' "go test -race needs a C compiler ('$cc' not found) and apt-get is not available: install gcc, then run this again." >&2
	exit 1
}
echo "installing gcc (needed by go test -race) with apt-get..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq gcc libc6-dev >/dev/null
