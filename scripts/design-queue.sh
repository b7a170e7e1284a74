#!/usr/bin/env bash
# Keeps JOBS `ctrecon design` processes busy on a machine: whenever fewer
# run (reports not counted), starts the next study part of the list with
# scripts/design-study.sh, in order, until the list is done. A part already
# running is skipped by design-study.sh; a finished one resumes to nothing.
#
#   nohup scripts/design-queue.sh JOBS SIZE:DIR:PART… > queue.log 2>&1 &
#
# e.g. scripts/design-queue.sh 2 128:d128:rect128 128:d128:rect128-c \
#          64:d64:rect64-pilot 128:d128:rect128-b 128:d128:rect128-radial
# (what follows the 64² study on a 2-core machine: docs/studies/design.md).
# Environment: POLL (seconds between looks, default 60), SETTLE (seconds to
# wait after a start before looking again, default 120: a process needs
# a moment to appear).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 2 ] && [[ $1 =~ ^[1-9][0-9]*$ ]] || { sed -n '7,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
jobs=$1
shift
for item in "$@"; do
	IFS=: read -r size dir part <<<"$item"
	[ -n "$size" ] && [ -n "$dir" ] && [ -n "$part" ] || { echo "not SIZE:DIR:PART: $item" >&2; exit 2; }
done
# running: how many ctrecon processes run `design` (not --report).
running() {
	local n=0 p args
	for p in $(pgrep -x ctrecon || true); do
		args=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		[[ $args == *" design "* && $args != *--report* ]] && n=$((n + 1))
	done
	echo "$n"
}
for item in "$@"; do
	IFS=: read -r size dir part <<<"$item"
	while [ "$(running)" -ge "$jobs" ]; do
		sleep "${POLL:-60}"
	done
	echo "$(date +%F' '%T) $(running) running; starting $size $dir $part"
	"$here/design-study.sh" "$size" start "$dir" "$part"
	sleep "${SETTLE:-120}"
done
echo "$(date +%F' '%T) queue done"
