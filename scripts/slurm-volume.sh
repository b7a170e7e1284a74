#!/usr/bin/env bash
# DIP + uncertainty of a CT volume on a Slurm cluster: one array task per
# slice range, then a merge job that runs once every task has succeeded.
# docs/cluster.md explains the design and gives the Kubernetes equivalent.
#
#   scripts/slurm-volume.sh submit SCAN OUTDIR SLICES TASKS   # sbatch the array and the merge
#   scripts/slurm-volume.sh task   SCAN OUTDIR SLICES TASKS   # one task (index from SLURM_ARRAY_TASK_ID)
#   scripts/slurm-volume.sh merge  SCAN OUTDIR SLICES TASKS   # join the parts
#
# SLICES is the scan's slice count (ctrecon info SCAN shows it), TASKS how
# many ranges to cut it into. Each task writes OUTDIR/dip-A-B.h5 and
# OUTDIR/uq-A-B.h5 for its slices A:B; the merge writes OUTDIR/dip.h5 and
# OUTDIR/uq.h5. Outputs are write-once and runs resume (--resume when a
# task's OUT.slices/ folder is there), so Slurm's requeue and a rerun by hand
# are both safe: a finished part is skipped, an interrupted one continues.
#
# Environment: CTRECON (the binary; default bin/ctrecon beside this script),
# DIP_FLAGS and UQ_FLAGS (extra flags, e.g. DIP_FLAGS="--tv 0.0005 --warm-start --min-iters 100"),
# THREADS (default: SLURM_CPUS_PER_TASK, else all CPUs), and for submit
# SBATCH_FLAGS (e.g. "--partition=cpu --time=24:00:00 --mem=32G").
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTRECON=${CTRECON:-$here/../bin/ctrecon}

usage() {
	sed -n '5,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -eq 5 ] || usage
mode=$1 scan=$2 outdir=$3 slices=$4 tasks=$5
case $slices$tasks in *[!0-9]*) echo "slurm-volume: SLICES and TASKS must be whole numbers" >&2; exit 2 ;; esac
[ "$slices" -ge 1 ] && [ "$tasks" -ge 1 ] && [ "$tasks" -le "$slices" ] ||
	{ echo "slurm-volume: need 1 ≤ TASKS ≤ SLICES (got $tasks tasks for $slices slices)" >&2; exit 2; }
per=$(( (slices + tasks - 1) / tasks ))

# range I prints the slice range "A B" of task I.
range() {
	local a=$(( $1 * per )) b=$(( ($1 + 1) * per ))
	[ "$b" -gt "$slices" ] && b=$slices
	echo "$a $b"
}

# once OUT CMD... runs CMD (which writes OUT) unless OUT exists, resuming
# from OUT.slices/ when an earlier attempt left it.
once() {
	local out=$1; shift
	if [ -e "$out" ]; then
		echo "slurm-volume: $out exists, skipped"
		return
	fi
	local resume=()
	[ -d "$out.slices" ] && resume=(--resume)
	"$@" "${resume[@]}" -o "$out"
}

threads=${THREADS:-${SLURM_CPUS_PER_TASK:-0}}

case $mode in
submit)
	mkdir -p "$outdir"
	# shellcheck disable=SC2086 # SBATCH_FLAGS is a list of flags
	jid=$(sbatch --parsable ${SBATCH_FLAGS:-} --array="0-$((tasks - 1))" --job-name=ctrecon-vol \
		--output="$outdir/task-%a.log" "${BASH_SOURCE[0]}" task "$scan" "$outdir" "$slices" "$tasks")
	# shellcheck disable=SC2086
	sbatch ${SBATCH_FLAGS:-} --dependency="afterok:${jid%%;*}" --job-name=ctrecon-merge \
		--output="$outdir/merge.log" "${BASH_SOURCE[0]}" merge "$scan" "$outdir" "$slices" "$tasks"
	;;
task)
	i=${SLURM_ARRAY_TASK_ID:?task mode needs SLURM_ARRAY_TASK_ID (set by sbatch --array, or by hand)}
	[ "$i" -ge 0 ] && [ "$i" -lt "$tasks" ] || { echo "slurm-volume: task $i of $tasks" >&2; exit 2; }
	read -r a b < <(range "$i")
	if [ "$a" -ge "$b" ]; then
		echo "slurm-volume: task $i has no slices"
		exit 0
	fi
	mkdir -p "$outdir"
	# shellcheck disable=SC2086 # DIP_FLAGS and UQ_FLAGS are lists of flags
	once "$outdir/dip-$a-$b.h5" "$CTRECON" -q --threads "$threads" dip -i "$scan" --slices "$a:$b" ${DIP_FLAGS:-}
	# shellcheck disable=SC2086
	once "$outdir/uq-$a-$b.h5" "$CTRECON" -q --threads "$threads" uncertainty -i "$scan" \
		--recon "$outdir/dip-$a-$b.h5" ${UQ_FLAGS:-}
	;;
merge)
	dips=() uqs=()
	for ((i = 0; i < tasks; i++)); do
		read -r a b < <(range "$i")
		[ "$a" -lt "$b" ] || continue
		dips+=("$outdir/dip-$a-$b.h5")
		uqs+=("$outdir/uq-$a-$b.h5")
	done
	"$CTRECON" merge -o "$outdir/dip.h5" "${dips[@]}"
	"$CTRECON" merge -o "$outdir/uq.h5" "${uqs[@]}"
	;;
*)
	usage
	;;
esac
