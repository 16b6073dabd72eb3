#!/usr/bin/env bash
# Many small files: our first and no-change snapshot of COUNT files (0..2 KiB each, unique
# content, 1000 per directory): wall time, CPU, peak RSS (bar: <= 256 MiB), repository size; then
# a restore of the first point into an empty directory (RESTORE=0 skips it).
#   bench/many-files.sh [COUNT]      COUNT defaults to 1000000; 100000 is a quick check (~1-2 min)
# Environment: WORK [/var/tmp/rp-bench/many], PER_DIR [1000] files per directory (COUNT: all in
#   one directory, a mail spool's shape), KEEP [0] keeps the tree and repository,
#   NO_BUILD [0] skips tsc, PROFILE [0] also writes a --cpu-prof summary of each step.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

COUNT=${1:-${COUNT:-1000000}}
PER_DIR=${PER_DIR:-1000}
WORK=${WORK:-/var/tmp/rp-bench/many}
check_work_dir "$WORK"
TREE=$WORK/tree
REPO=$WORK/repo

mkdir -p "$WORK/logs"
: >"$WORK/results.tsv"
build_ts
ensure_time
touch_free_memory
rm -rf "$TREE" "$REPO"
log "generating $COUNT files in $TREE"
t0=$(date +%s)
node "$PROJ/dist/bench/tree-tools.js" gen-many "$TREE" --count "$COUNT" --per-dir "$PER_DIR" >"$WORK/logs/gen.json"
log "generated in $(( $(date +%s) - t0 )) s: $(cat "$WORK/logs/gen.json")"
# Files changed within 3 s of a snapshot's start are read again by the next one (racy inodes,
# docs/FORMAT.md): past that, the no-change step measures a tree the first snapshot may trust.
sleep 4
cat >"$WORK/meta.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "tree": "$COUNT files of 0..2 KiB (unique content), $PER_DIR per directory: $(cat "$WORK/logs/gen.json" | tr -d '"{}')",
  "machine": "$(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), $(free -h | awk 'NR==2{print $2}') RAM, kernel $(uname -r)",
  "cache": "warm (files were just written; page cache never dropped; free memory touched once before, as first touch of VM memory is slow)"
}
EOF

for step in first nochange; do
  if [ "${PROFILE:-0}" = 1 ]; then
    mkdir -p "$WORK/profile/$step"
    NODE_FLAGS="--cpu-prof --cpu-prof-dir=$WORK/profile/$step" ours_cmd "$TREE" "$REPO"
    measure "$step" ours "$REPO" "${OURS_CMD[@]}"
    node "$PROJ/dist/bench/cpuprofile-top.js" --top 25 "$WORK/profile/$step"/*.cpuprofile >"$WORK/profile-$step.md" 2>&1 || true
  else
    ours_cmd "$TREE" "$REPO"
    measure "$step" ours "$REPO" "${OURS_CMD[@]}"
  fi
done
measure find find "" sh -c 'exec find "$1" -printf "%s %T@\n" >/dev/null' find "$TREE"
if [ "${RESTORE:-1}" = 1 ]; then
  # The first point into an empty directory (a rescue restore of a wiped filesystem): restores
  # hold per-directory state too, so its peak RSS is reported beside the snapshots'.
  rm -rf "$WORK/restored"
  mkdir -p "$WORK/restored"
  ours_restore_cmd "$WORK/restored" "$REPO" 1
  measure restore ours "" "${OURS_RESTORE_CMD[@]}"
  : >"$WORK/logs/restored.txt"
  echo "ours: $(find "$WORK/restored" -type f | wc -l) files, $(du -sb "$WORK/restored" | cut -f1) bytes restored" >>"$WORK/logs/restored.txt"
  rm -rf "$WORK/restored"
fi

node "$PROJ/dist/bench/e2e-report.js" --work "$WORK" --kind many --out "${OUT:-$WORK/many-files-$COUNT.md}"
if [ "${KEEP:-0}" != 1 ]; then
  log "removing tree and repository (KEEP=1 keeps them)"
  rm -rf "$TREE" "$REPO"
fi
