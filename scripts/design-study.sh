#!/usr/bin/env bash
# The rectangles experimental-design studies of docs/studies/design.md
# (issue 11), each run in two one-thread processes (two parts of its
# images) and carried across machines through its committed state files in
# docs/studies/design-SIZE/.
#
#   scripts/design-study.sh SIZE start  DIR [PART…]  # resume the parts (or only those named) in DIR (background; running ones are left)
#   scripts/design-study.sh SIZE sync   DIR   # copy DIR's states, and the report's table.md, into docs/studies/design-SIZE/
#   scripts/design-study.sh SIZE report DIR   # merged tables and figure in DIR/rectSIZE-all (and DIR/PART-all per extra part); a part DIR lacks comes from the docs' state
#
# SIZE is 64 (20 images, images 0:10 and 10:20, DIP seeds 0 and 1) or 128
# (6 images, 0:3, 3:5 and 5:6, DIP seed 0: image 5, oblique rectangles,
# got its own part to run before image 4, near an axis, so that the first
# five images hold two oblique ones). At 64² a third part runs the
# rotation-invariant Matérn-½ baseline (matern-radial, added after the 64²
# study had started) over every image: it is cheap (a few minutes per image
# and seed) and its runs merge with the others' in the report, which tables
# an image × seed once all its 8 strategies have finished on it. An extra
# part (at 64², rect64-pilot: eig-pilot, lin-DIP EIG without adaptation,
# the ablation that tells what refitting adds; at 128², rect128-radial:
# matern-radial, 15–20 min an image there, queued last) starts only when
# named and gets its own report, DIR/PART-all, beside eig, var and equal
# spacing from the main parts, so that the main tables (the issue's six
# strategies at 128²) do not wait for it. start
# regenerates the full scan
# (seeded: the states check its content hash), takes each part's state from
# the docs unless DIR already holds one with at least as many finished runs,
# and starts `ctrecon design … --resume` for each part with nohup (logs in
# DIR/rectSIZE*.log). A run in flight when the machine goes away is lost;
# finished runs are in the state file, so sync before a session ends (and
# commit the two files).
#
# Environment: CTRECON (the binary; default bin/ctrecon beside this script),
# MEMORY (GiB per process, default 9: --memory 6 capped the subspace at
# rank 1 once, docs/studies/design.md).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTRECON=${CTRECON:-$here/../bin/ctrecon}
MEMORY=${MEMORY:-9}

usage() {
	sed -n '7,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[ $# -ge 3 ] || usage
size=$1
cmd=$2
dir=$3
shift 3
only=" $* " # start: the parts to start (all when none are named)
[ "$cmd" = start ] || [ $# -eq 0 ] || usage
# A part is NAME:FIRST:END[:STRATEGIES[:extra]]; without STRATEGIES it runs
# the seven of the 64² study: the issue's six and the separable Matérn-½. The
# 128² study leaves the separable one out: at 64² it chose by the pixel
# grid (docs/studies/design.md), and the rotation-invariant one replaces it.
strategies=eig,var,equal,random,golden,iso,matern
issue=eig,var,equal,random,golden,iso
case $size in
64) count=20 seeds=0,1 parts="rect64:0:10 rect64-b:10:20 rect64-radial:0:20:matern-radial rect64-pilot:0:20:eig-pilot:extra" ;;
128) count=6 seeds=0 parts="rect128:0:3:$issue rect128-b:3:5:$issue rect128-c:5:6:$issue rect128-radial:0:6:matern-radial:extra" ;;
*) usage ;;
esac
for want in "$@"; do
	[[ " $parts " == *" $want:"* ]] || { echo "no part $want at size $size (parts: $parts)" >&2; exit 2; }
done
docs=$here/../docs/studies/design-$size
full=rect$size-full.h5
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

args=(--threads 1 --memory "$MEMORY" --full "$dir/$full" --start 5 --budget 40
	--dip-seeds "$seeds")

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
	if [ ! -s "$dir/$full" ]; then
		"$CTRECON" -q simulate --phantom rectangles --size "$size" --count "$count" --angles 200 --analytic -o "$dir/$full"
	fi
	mkdir -p "$docs"
	for part in $parts; do
		IFS=: read -r name lo hi strats extra <<<"$part"
		if [ "$only" != "  " ] && [[ $only != *" $name "* ]]; then
			continue
		fi
		if [ "$only" = "  " ] && [ -n "$extra" ]; then
			continue # an extra part starts only when named
		fi
		if pgrep -f -- "-o $dir/$name\$" >/dev/null; then
			echo "$name: already running"
			continue
		fi
		mkdir -p "$dir/$name"
		if [ "$(progress "$docs/$name-state.json")" -gt "$(progress "$dir/$name/state.json")" ]; then
			cp "$docs/$name-state.json" "$dir/$name/state.json"
		fi
		resume=()
		[ -s "$dir/$name/state.json" ] && resume=(--resume)
		echo "$name: $(runs "$dir/$name/state.json"); starting images $lo:$hi"
		nohup "$CTRECON" design "${args[@]}" --strategies "${strats:-$strategies}" --images "$lo:$hi" "${resume[@]}" -o "$dir/$name" >"$dir/$name.log" 2>&1 &
	done
	;;
sync)
	for part in $parts; do
		name=${part%%:*}
		s=$dir/$name/state.json
		if [ "$(progress "$s")" -gt "$(progress "$docs/$name-state.json")" ]; then
			cp "$s" "$docs/$name-state.json"
			echo "$name: $(runs "$s") copied to $docs/$name-state.json"
		else
			echo "$name: nothing new ($(runs "$s"))"
		fi
	done
	# the merged tables of what the states hold, for the docs to cite
	if "$0" "$size" report "$dir" >/dev/null 2>&1 && [ -s "$dir/rect$size-all/table.md" ]; then
		cp "$dir/rect$size-all/table.md" "$docs/table.md"
		echo "report: $dir/rect$size-all/table.md copied to $docs/table.md"
	fi
	;;
report)
	names=()
	all=
	for part in $parts; do # the union of the main parts' strategies, in order
		IFS=: read -r name lo hi strats extra <<<"$part"
		[ -z "$extra" ] || continue
		# a part not started on this machine yet is reported from the docs' state
		if [ ! -s "$dir/$name/state.json" ] && [ -s "$docs/$name-state.json" ]; then
			mkdir -p "$dir/$name"
			cp "$docs/$name-state.json" "$dir/$name/state.json"
		fi
		names+=("$dir/$name")
		IFS=, read -ra list <<<"${strats:-$strategies}"
		for st in "${list[@]}"; do
			[[ ",$all," == *",$st,"* ]] || all=$all${all:+,}$st
		done
	done
	"$CTRECON" design "${args[@]}" --strategies "$all" --report --merge "$(IFS=,; echo "${names[*]}")" -o "$dir/rect$size-all"
	for part in $parts; do # each extra part beside lin-DIP and equal spacing
		IFS=: read -r name lo hi strats extra <<<"$part"
		[ -n "$extra" ] && [ -s "$dir/$name/state.json" ] || continue
		"$CTRECON" design "${args[@]}" --strategies "eig,var,equal,$strats" --report \
			--merge "$(IFS=,; echo "${names[*]}"),$dir/$name" -o "$dir/$name-all"
	done
	;;
*)
	usage
	;;
esac
