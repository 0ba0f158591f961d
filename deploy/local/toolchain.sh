#!/usr/bin/env bash
# Check the build tools Veza needs.
#
#   deploy/local/toolchain.sh          Go is installed
#   deploy/local/toolchain.sh --race   ... and a C compiler for `go test -race`
#   deploy/local/toolchain.sh --test   ... and redis-server, which the tests
#                                      run privately (one per test package),
#                                      and promtool, which checks the alert
#                                      rules in deploy/prometheus
#
# Go itself is never installed here. The C compiler and redis-server are
# installed with apt-get when running as root; otherwise the script says what
# to install and exits non-zero.
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
		printf '%s\n' "$why: install it with:  sudo apt-get install -y ${pkgs[*]}" >&2
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

if [[ "$mode" == --test ]] && ! command -v redis-server >/dev/null 2>&1 && [[ ! -x /usr/bin/redis-server ]]; then
	apt_install redis-server "the tests start private Redis servers and need redis-server"
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
