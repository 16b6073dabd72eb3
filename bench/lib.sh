# Shared helpers for bench/e2e.sh and bench/many-files.sh (sourced, not run).
# measure STEP TOOL REPO CMD...: runs CMD under /usr/bin/time -v, appends one line to
#   $WORK/results.tsv: step tool wall_s user_s sys_s maxrss_kb repo_bytes exit other_cpu_s
#   (other_cpu_s: CPU time the rest of the machine used during the step)
#   and keeps stdout/stderr/time output in $WORK/logs/STEP-TOOL.{out,err,time}.
# A failing command is recorded (and its stderr shown), never fatal: the other tools still run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJ=$(dirname "$BENCH_DIR")

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Refuse anything that is not a dedicated directory below a temp area: the scripts rm -rf in it.
check_work_dir() {
  case "$1" in
    /var/tmp/?*|/tmp/?*|/scratch/?*|/mnt/?*) ;;
    *) if [ "${BENCH_ALLOW_WORK:-0}" != 1 ]; then
         echo "WORK=$1 is not below /var/tmp, /tmp, /scratch or /mnt; set BENCH_ALLOW_WORK=1 to allow" >&2; exit 2
       fi ;;
  esac
}

ensure_time() {
  if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    apt_updated_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
  fi
}

APT_UPDATED=0
apt_updated_once() {
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
}

# tsc emits JS even when it reports type errors; a type error elsewhere in the tree (work in
# progress) must not stop a benchmark of code that runs, so errors are shown, not fatal. The
# commands run from the bundles made of tsc's output (npm run build:bundle).
build_ts() {
  if [ "${NO_BUILD:-0}" != 1 ]; then
    log "building (tsc, bundles)"
    if ! (cd "$PROJ" && npx tsc -p tsconfig.json >"$WORK/logs/tsc.log" 2>&1); then
      log "WARNING: tsc reported $(grep -c 'error TS' "$WORK/logs/tsc.log") type errors (see $WORK/logs/tsc.log); continuing with the emitted JS"
    fi
    (cd "$PROJ" && npm run -s build:bundle) >"$WORK/logs/bundle.log" 2>&1 || { echo "bundling failed: see $WORK/logs/bundle.log" >&2; exit 1; }
  fi
  for f in dist/bundle/snapshot-command.js dist/bench/tree-tools.js dist/bench/e2e-report.js; do
    [ -f "$PROJ/$f" ] || { echo "missing $PROJ/$f: build failed" >&2; exit 1; }
  done
}

# Busy CPU seconds of the whole machine so far (all CPUs), from /proc/stat. Compared with the
# measured command's own CPU time it shows how much else ran during a step (a shared machine).
machine_busy_s() {
  awk '/^cpu /{printf "%.2f", ($2+$3+$4+$7+$8+$9)/100; exit}' /proc/stat
}

# Our CLI with nothing read from /cluster, as an argv in OURS_CMD (measure runs it under
# /usr/bin/time, which needs a program, not a shell function). NODE_FLAGS adds node options.
# RP_DEBUG=1 makes a failure print its stack after the one-line message.
# The launcher's own node flags (its shebang line) are kept: `node bin/system_snapshot` alone
# would run without them, i.e. not as installed.
ours_cmd() { # TREE REPO
  local launch_flags
  launch_flags=$(head -1 "$PROJ/bin/system_snapshot" | sed -n 's/^#!.* node *//p')
  # shellcheck disable=SC2206
  OURS_CMD=(env RP_DEBUG=1 node $launch_flags ${NODE_FLAGS:-} "$PROJ/bin/system_snapshot" --root "$1" --repo "$2" --json --quiet
    --db-locations /dev/null --config /dev/null)
}

ours_restore_cmd() { # TARGET_DIR REPO POINT
  local launch_flags
  launch_flags=$(head -1 "$PROJ/bin/system_restore" | sed -n 's/^#!.* node *//p')
  # shellcheck disable=SC2206
  OURS_RESTORE_CMD=(node $launch_flags ${NODE_FLAGS:-} "$PROJ/bin/system_restore" --root "$1" --repo "$2" --point "$3" --yes --no-boot
    --db-locations /dev/null --config /dev/null)
}

time_field() { # FILE "Label"
  grep -F "$2" "$1" | head -1 | awk -F': ' '{print $2}'
}

# A fresh VM's memory is backed by the host only when the guest first touches it, and that first
# touch is slow: here 1 GB written into ext4's page cache took 1.9 s of CPU the first time and
# 0.13 s once the pages had been used before (dd, 2026-11-27). Whichever tool first writes into
# never-used memory pays it; a server that has run for a while has none. So, once per run, touch
# the free memory (less a margin) and give it back before anything is measured.
touch_free_memory() {
  local free_kb
  free_kb=$(awk '/^MemFree:/{print $2}' /proc/meminfo)
  log "touching $((free_kb / 1048576)) GiB of free memory once (first touch of VM memory is slow)"
  node -e '
    const total = Number(process.argv[1]) * 1024 - 1024 ** 3; // leave 1 GiB
    const held = [];
    for (let done = 0; done + 256 * 2 ** 20 <= total; done += 256 * 2 ** 20) held.push(Buffer.allocUnsafeSlow(256 * 2 ** 20).fill(1));
  ' "$free_kb"
}

# The machine may be shared (other sessions' test runs): before a step, wait until the rest of the
# machine used under QUIET_CPU (default 0.1) CPUs over 2 s, for at most QUIET_MAX_WAIT s (300).
wait_quiet() {
  local waited=0 b0 b1 busy
  while :; do
    b0=$(machine_busy_s); sleep 2; b1=$(machine_busy_s)
    busy=$(awk "BEGIN{printf \"%.2f\", ($b1 - $b0) / 2}")
    if awk "BEGIN{exit !($busy <= ${QUIET_CPU:-0.1})}"; then break; fi
    if [ "$waited" -ge "${QUIET_MAX_WAIT:-300}" ]; then
      log "machine still busy ($busy CPUs in use by others) after ${waited}s; measuring anyway"
      break
    fi
    [ "$waited" = 0 ] && log "waiting for a quiet machine ($busy CPUs busy)"
    waited=$((waited + 2))
  done
}

measure() {
  local step=$1 tool=$2 repo=$3; shift 3
  # The previous step's writes (another tool's repository, ~1 GB) are flushed first: left to the
  # kernel's writeback, they competed with this step's own reads and fsyncs (our no-change step,
  # right after borg's first snapshot: 1.77 and 2.25 s at 123-138% CPU in two runs; 1.24 s at
  # 176% in the next run, with this sync; the same code on a cached tree: 1.2 s).
  sync
  wait_quiet
  local base="$WORK/logs/$step-$tool" t0 t1 rc wall user sys rss repo_bytes="" busy0 busy1 other
  log "$step / $tool: $*"
  busy0=$(machine_busy_s)
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -v -o "$base.time" "$@" >"$base.out" 2>"$base.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  busy1=$(machine_busy_s)
  wall=$(awk "BEGIN{printf \"%.3f\", $t1 - $t0}")
  user=$(time_field "$base.time" "User time (seconds)")
  sys=$(time_field "$base.time" "System time (seconds)")
  rss=$(time_field "$base.time" "Maximum resident set size (kbytes)")
  other=$(awk "BEGIN{o = $busy1 - $busy0 - ${user:-0} - ${sys:-0}; printf \"%.2f\", (o < 0 ? 0 : o)}")
  if [ -n "$repo" ] && [ -e "$repo" ]; then repo_bytes=$(du -sb "$repo" | cut -f1); fi
  printf '%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$tool" "$wall" "${user:-0}" "${sys:-0}" "${rss:-0}" "$repo_bytes" "$rc" "$other" >>"$WORK/results.tsv"
  if [ "$rc" != 0 ]; then
    log "$step / $tool FAILED with exit $rc; stderr:"
    tail -n 30 "$base.err" >&2
    grep -F "signal" "$base.time" >&2 || true
  else
    log "$step / $tool: wall $(printf '%.2f' "$wall") s, user ${user} s, sys ${sys} s, max RSS $((${rss:-0} / 1024)) MiB${repo_bytes:+, repo $((repo_bytes / 1048576)) MiB}, others' CPU ${other} s"
  fi
}

# Reads every file once so the first snapshot of each tool starts from the same warm page cache
# (dropping caches is not reliable here; a warm cache is the reproducible alternative).
warm_cache() {
  log "warming page cache: reading $1"
  find "$1" -type f -print0 | xargs -0 -r cat >/dev/null 2>&1 || true
}

machine_info() {
  echo "nproc: $(nproc)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU MHz|L2|L3)' | sed 's/  */ /g'
  free -h | sed -n 2p | awk '{print "memory: " $2 " total"}'
  echo "kernel: $(uname -r)"
  df -hT "$WORK" | tail -1 | awk '{print "work fs: " $1 " " $2 " " $3 " size, " $5 " free"}'
  echo "node: $(node --version)"
}
