#!/usr/bin/env bash
# The 64² experimental-design study of docs/studies/design.md (issue 11), run
# in two one-thread processes (images 0:10 and 10:20) and carried across
# machines through its committed state files in docs/studies/design-64/.
#
#   scripts/design-64.sh start  DIR   # resume both halves in DIR (background)
#   scripts/design-64.sh sync   DIR   # copy DIR's states into docs/studies/design-64/
#   scripts/design-64.sh report DIR   # merged tables and figure in DIR/rect64-all
#
# start regenerates the full scan (seeded: the states check its content
# hash), takes each half's state from the docs unless DIR already holds one
# with at least as many finished runs, and starts `ctrecon design … --resume`
# for each half with nohup (logs in DIR/rect64*.log). A run in flight when
# the machine goes away is lost; finished runs are in the state file, so
# sync before a session ends (and commit the two files).
#
# Environment: CTRECON (the binary; default bin/ctrecon beside this script),
# MEMORY (GiB per process, default 9: --memory 6 capped the subspace at
# rank 1 once, docs/studies/design.md).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTRECON=${CTRECON:-$here/../bin/ctrecon}
docs=$here/../docs/studies/design-64
MEMORY=${MEMORY:-9}

usage() {
	sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

args=(--threads 1 --memory "$MEMORY" --full "$dir/rect64-full.h5" --start 5 --budget 40
	--dip-seeds 0,1 --strategies eig,var,equal,random,golden,iso,matern)

# progress FILE: how far a state file is (0 if none): the angles acquired
# over all its runs, finished or not (an unfinished run resumes from its
# last refit), plus 1000 per finished run.
progress() {
	[ -s "$1" ] || { echo 0; return; }
	python3 -c 'import json,sys
runs = json.load(open(sys.argv[1]))["Runs"].values()
print(sum(len(r.get("Acquired") or []) + 1000 * bool(r.get("Done")) for r in runs))' "$1"
}

# runs FILE: "F finished, U unfinished" runs of a state file.
runs() {
	[ -s "$1" ] || { echo "0 finished"; return; }
	python3 -c 'import json,sys
runs = json.load(open(sys.argv[1]))["Runs"].values()
d = sum(bool(r.get("Done")) for r in runs)
print(f"{d} finished, {len(runs) - d} unfinished")' "$1"
}

case $cmd in
start)
	if [ ! -s "$dir/rect64-full.h5" ]; then
		"$CTRECON" -q simulate --phantom rectangles --size 64 --count 20 --angles 200 --analytic -o "$dir/rect64-full.h5"
	fi
	for half in rect64:0:10 rect64-b:10:20; do
		IFS=: read -r name lo hi <<<"$half"
		mkdir -p "$dir/$name"
		if [ "$(progress "$docs/$name-state.json")" -gt "$(progress "$dir/$name/state.json")" ]; then
			cp "$docs/$name-state.json" "$dir/$name/state.json"
		fi
		resume=()
		[ -s "$dir/$name/state.json" ] && resume=(--resume)
		echo "$name: $(runs "$dir/$name/state.json"); starting images $lo:$hi"
		nohup "$CTRECON" design "${args[@]}" --images "$lo:$hi" "${resume[@]}" -o "$dir/$name" >"$dir/$name.log" 2>&1 &
	done
	;;
sync)
	for name in rect64 rect64-b; do
		s=$dir/$name/state.json
		if [ "$(progress "$s")" -gt "$(progress "$docs/$name-state.json")" ]; then
			cp "$s" "$docs/$name-state.json"
			echo "$name: $(runs "$s") copied to $docs/$name-state.json"
		else
			echo "$name: nothing new ($(runs "$s"))"
		fi
	done
	;;
report)
	"$CTRECON" design "${args[@]}" --report --merge "$dir/rect64,$dir/rect64-b" -o "$dir/rect64-all"
	;;
*)
	usage
	;;
esac
