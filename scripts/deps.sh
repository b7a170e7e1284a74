#!/usr/bin/env bash
# Checks for what ctrecon needs to build (Go, a C compiler, pkg-config and the
# HDF5 and OpenBLAS development packages) and installs the missing Debian
# packages when run as root; otherwise says exactly what to install.
set -euo pipefail

missing=()
for pkg in pkg-config libhdf5-dev libopenblas-dev gcc; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	echo "ctrecon needs Go 1.26 or newer: see https://go.dev/doc/install (or apt-get install golang-go if your release has 1.26)." >&2
	exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	echo "installing ${missing[*]} ..." >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || true
	apt-get install -y -qq "${missing[@]}" >&2
else
	echo "ctrecon needs these Debian/Ubuntu packages: ${missing[*]}" >&2
	echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
	echo "then run make again." >&2
	exit 1
fi
