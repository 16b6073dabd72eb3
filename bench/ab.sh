#!/bin/bash
# Side by side: two builds of system_snapshot on one tree, runs alternating A, B, A, B, ...
# A change's effect is smaller than what one run moves on a shared host (~10% time, ~10-15%
# peak RSS), so the figures quoted for single changes in docs/BENCHMARKS.md come from here.
#
#   bench/ab.sh [--first] CODE_A CODE_B TREE [PAIRS]
#
# CODE_A/CODE_B: built checkouts (dist/ and native/build present), e.g. `git worktree add` of the
# older commit plus `npm ci`, or a copy of the tree with `npx tsc && npm run build:bundle`.
# TREE: a tree to snapshot, best on tmpfs (`mount -t tmpfs -o size=6g,nr_inodes=3m NAME DIR`:
# this VM pages out page cache left untouched for ~60 s, and a cold tree measures the disk).
# PAIRS: default 5.
# Default mode: no-change snapshots. One first snapshot (with CODE_B) fills a repository under
# WORK, then every run is a no-change snapshot into it (nothing changes, so each run compares
# with an identical point). --first: every run is a first snapshot into a fresh repository.
# Prints one line per run and the mean of each build: wall s, user+sys CPU s, peak RSS MiB.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FIRST=0
if [ "${1:-}" = --first ]; then FIRST=1; shift; fi
[ $# -ge 3 ] || { sed -n '4,14p' "$0" >&2; exit 2; }
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd) TREE=$3 PAIRS=${4:-5}
WORK=${WORK:-/var/tmp/rp-bench/ab}
check_work_dir "$WORK"
ensure_time
for code in "$A" "$B"; do
  [ -f "$code/dist/src/cli/snapshot-command.js" ] || { echo "$code: not built (dist/src/cli/snapshot-command.js missing)" >&2; exit 2; }
done
rm -rf "$WORK" && mkdir -p "$WORK"
trap 'rm -rf "$WORK/repo"' EXIT

# run LABEL CODE: one snapshot, one line "LABEL wall cpu rss"
run() {
  local label=$1 code=$2 flags s e
  flags=$(head -1 "$code/bin/system_snapshot" | sed -n 's/^#!.* node *//p')
  [ "$FIRST" = 1 ] && rm -rf "$WORK/repo"
  s=$(date +%s.%N)
  # shellcheck disable=SC2086
  /usr/bin/time -f '%U %S %M' -o "$WORK/time" node $flags "$code/bin/system_snapshot" --root "$TREE" --repo "$WORK/repo" \
    --config /dev/null --db-locations /dev/null --no-boot --quiet >/dev/null
  e=$(date +%s.%N)
  awk -v l="$label" -v w="$(echo "$e - $s" | bc)" '{printf "%s %.3f %.3f %.1f\n", l, w, $1 + $2, $3 / 1024}' "$WORK/time"
}

if [ "$FIRST" = 0 ]; then
  log "first snapshot of $TREE (B) to compare with"
  run setup "$B" >/dev/null
fi
log "$PAIRS pairs, $([ "$FIRST" = 1 ] && echo first || echo no-change) snapshots: A=$A B=$B"
for i in $(seq "$PAIRS"); do
  run A "$A"
  run B "$B"
done | tee "$WORK/runs.txt"
awk '{w[$1] += $2; c[$1] += $3; r[$1] += $4; n[$1]++}
  END {for (k in n) printf "mean %s: wall %.3f s, CPU %.3f s, peak RSS %.1f MiB (%d runs)\n", k, w[k]/n[k], c[k]/n[k], r[k]/n[k], n[k];
       printf "B/A: wall %.3f, CPU %.3f, peak RSS %.3f\n", w["B"]/w["A"], c["B"]/c["A"], r["B"]/r["A"]}' "$WORK/runs.txt"
