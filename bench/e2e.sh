#!/usr/bin/env bash
# End-to-end benchmark: ours vs restic vs borg on a copy of /usr/lib + /usr/share.
#   bench/e2e.sh                 full run (builds, installs restic/borg if missing, ~15-30 min)
# Environment knobs (defaults in brackets):
#   WORK [/var/tmp/rp-bench/e2e]   everything lives here: tree, repos, tool caches, logs, results
#   TOOLS ["ours restic borg"]     which tools to run
#   SEED [42]                      churn seed (the churn is deterministic for one source tree)
#   TREE_SOURCES ["usr/lib usr/share"]  what is copied (paths below /)
#   TREE_EXCLUDES                  paths below / left out of the copy to land near 2.4 GiB/110k
#   FIND_RUNS [3]                  repetitions of the `find -printf` reference walk
#   PROFILE [0]                    1: afterwards, profile our first and no-change snapshot with
#                                  node --cpu-prof (separate repo, not in the table) and summarise
#   KEEP [0]                       1: keep tree and repositories (else removed; logs/results kept)
#   NO_BUILD [0]                   1: skip `tsc`
#   RESTORE [1]                    0: skip the restore step (the first snapshot into an empty dir)
# Sequence (one tree, churned once, so every tool snapshots identical states):
#   touch free memory -> copy tree + 5 x 20 MiB logs -> per tool: warm cache, first snapshot -> per tool: no-change
#   snapshot -> find reference -> churn -> warm cache -> per tool: churn snapshot -> per tool:
#   restore of the first snapshot into an empty directory -> report.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

WORK=${WORK:-/var/tmp/rp-bench/e2e}
TOOLS=${TOOLS:-"ours restic borg"}
SEED=${SEED:-42}
FIND_RUNS=${FIND_RUNS:-3}
# /usr here is 4.5 GB / 125k entries; these leave ~2.5 GiB / ~107k (biggest: Go binaries of the
# Cloud SDK, a JDK, LLVM; and 17k tiny .py files so the entry count stays near 110k).
TREE_SOURCES=${TREE_SOURCES:-"usr/lib usr/share"}
TREE_EXCLUDES=${TREE_EXCLUDES:-"usr/lib/google-cloud-sdk/bin usr/lib/google-cloud-sdk/lib/surface usr/lib/jvm usr/lib/llvm-14"}
check_work_dir "$WORK"
TREE=$WORK/tree
REPOS=$WORK/repos

export RESTIC_PASSWORD=x RESTIC_CACHE_DIR=$WORK/cache/restic
export BORG_PASSPHRASE='' BORG_BASE_DIR=$WORK/cache/borg BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

install_tools() {
  ensure_time
  local need=()
  case " $TOOLS " in *" restic "*) command -v restic >/dev/null || need+=(restic) ;; esac
  case " $TOOLS " in *" borg "*) command -v borg >/dev/null || need+=(borgbackup) ;; esac
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt_updated_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
  fi
  case "$(borg --version 2>/dev/null)" in borg\ 1.*|"") ;; *) log "WARNING: borg is not 1.x; the create/init syntax here is 1.x" ;; esac
}

make_tree() {
  log "copying $TREE_SOURCES (below /) into $TREE (excluding: $TREE_EXCLUDES)"
  rm -rf "$TREE"
  mkdir -p "$TREE"
  local ex=()
  for e in $TREE_EXCLUDES; do ex+=(--exclude="$e"); done
  # Same result as `cp -a` of the two trees minus the excluded subtrees (owners, modes, times,
  # symlinks, hard links, xattrs), without copying what is thrown away.
  tar -C / --anchored "${ex[@]}" --xattrs --acls -cf - $TREE_SOURCES | tar -C "$TREE" --xattrs --acls -xpf -
  node "$PROJ/dist/bench/tree-tools.js" make-logs "$TREE" >"$WORK/logs/make-logs.json"
}

snapshot() { # STEP TOOL
  local step=$1 tool=$2
  case $tool in
    ours) ours_cmd "$TREE" "$REPOS/ours"; measure "$step" ours "$REPOS/ours" "${OURS_CMD[@]}" ;;
    restic) measure "$step" restic "$REPOS/restic" restic backup --repo "$REPOS/restic" --json "$TREE" ;;
    borg) measure "$step" borg "$REPOS/borg" borg create --json --compression lz4 "$REPOS/borg::$step" "$TREE" ;;
    *) echo "unknown tool $tool" >&2; exit 2 ;;
  esac
}

# Restores the first snapshot (the tree before the churn) into an empty directory, which is what
# a rescue restore of a wiped filesystem does; the restored files are counted into the log, and the
# copy removed. Ours also takes its pre-restore point (of the empty directory) first. Each tool
# gets a fresh ext4 filesystem (a sparse image on WORK's disk, loop-mounted): restored into one
# directory after another on the same filesystem, a tool paid for the ~92k inodes the previous
# one's copy had just freed (ext4 skips recently deleted inodes when it allocates new ones: ~40%
# of our main thread's time went to that in a run that followed a deletion). Ours writes out the
# filesystems it restored to before it returns (syncfs); restic and borg do not, so their restore
# is timed with a `sync -f` of the target after it: each row is a restore whose data is on disk.
RESTORE_MOUNT=""
unmount_restore() { if [ -n "$RESTORE_MOUNT" ]; then umount "$RESTORE_MOUNT" 2>/dev/null || true; RESTORE_MOUNT=""; fi; }
trap unmount_restore EXIT
restore_first() { # TOOL
  local tool=$1 dir=$WORK/restored-$1 img=$WORK/restored-$1.img
  rm -rf "$dir" "$img"
  mkdir -p "$dir"
  truncate -s 16G "$img"
  mkfs.ext4 -q -F "$img"
  mount -o loop "$img" "$dir"
  RESTORE_MOUNT=$dir
  case $tool in
    ours) ours_restore_cmd "$dir" "$REPOS/ours" 1; measure restore ours "" "${OURS_RESTORE_CMD[@]}" ;;
    restic)
      local id
      id=$(restic snapshots --repo "$REPOS/restic" --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s)[0].id))')
      measure restore restic "" sh -c 'restic restore "$1" --repo "$2" --target "$3" && exec sync -f "$3"' restic-restore "$id" "$REPOS/restic" "$dir" ;;
    borg) measure restore borg "" sh -c 'cd "$1" && borg extract "$2" && exec sync -f "$1"' borg-extract "$dir" "$REPOS/borg::first" ;;
  esac
  # restic and borg put the tree at its full path below the target; ours restores ROOT itself.
  local top=$dir
  [ "$tool" = ours ] || top=$dir$TREE
  # What was restored, as a listing every tool should match (directory sizes depend on how a
  # directory was filled, so they are left out): equal digests = the same names, types, sizes,
  # modes, owners, mtimes and symlink targets. The listings stay in logs/ for a diff.
  (cd "$top" && find . -mindepth 1 \( -type d -printf '%P d %m %U %G %T@\n' -o -printf '%P %y %s %m %U %G %T@ %l\n' \) | LC_ALL=C sort) >"$WORK/logs/listing-$tool.txt"
  echo "$tool: $(find "$top" -type f | wc -l) files, $(find "$top" -type f -printf '%s\n' | awk '{ n += $1 } END { printf "%.0f", n }') bytes in files, listing $(sha256sum <"$WORK/logs/listing-$tool.txt" | cut -c1-16)" >>"$WORK/logs/restored.txt"
  unmount_restore
  rm -rf "$dir" "$img"
}

init_repos() {
  rm -rf "$REPOS" "$WORK/cache"
  mkdir -p "$REPOS" "$WORK/cache"
  for tool in $TOOLS; do
    case $tool in
      restic) restic init --repo "$REPOS/restic" >"$WORK/logs/init-restic.log" 2>&1
              restic cat config --repo "$REPOS/restic" >>"$WORK/logs/init-restic.log" 2>&1 ;;
      borg) borg init -e none "$REPOS/borg" >"$WORK/logs/init-borg.log" 2>&1 ;;
      ours) ;; # created by the first snapshot
    esac
  done
}

profile_ours() {
  local prof=$WORK/profile repo=$WORK/repos/ours-profile
  rm -rf "$prof" "$repo"
  mkdir -p "$prof/first" "$prof/nochange"
  log "profiling our first and no-change snapshot (node --cpu-prof) into $prof"
  for s in first nochange; do
    NODE_FLAGS="--cpu-prof --cpu-prof-dir=$prof/$s" ours_cmd "$TREE" "$repo"
    wait_quiet # the profiler samples wall time: other load shows up as time in whatever was running
    "${OURS_CMD[@]}" >"$prof/$s.json" 2>"$prof/$s.err" || log "profiled $s snapshot failed: $(tail -3 "$prof/$s.err")"
    node "$PROJ/dist/bench/cpuprofile-top.js" --top 25 "$prof/$s"/*.cpuprofile >"$WORK/profile-$s.md" 2>&1 || true
  done
  rm -rf "$repo"
}

main() {
  mkdir -p "$WORK/logs"
  : >"$WORK/results.tsv"
  build_ts
  install_tools
  touch_free_memory
  make_tree
  local files entries bytes
  entries=$(find "$TREE" | wc -l)
  files=$(find "$TREE" -type f | wc -l)
  bytes=$(du -sb "$TREE" | cut -f1)
  log "tree: $entries entries, $files files, $((bytes / 1048576)) MiB"
  {
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"tree\": \"copy of $TREE_SOURCES without $TREE_EXCLUDES, plus 5 x 20 MiB logs: $entries entries, $files regular files, $(awk "BEGIN{printf \"%.2f\", $bytes / 1073741824}") GiB (du -sb)\","
    echo "  \"versions\": \"$(restic version 2>/dev/null | cut -d' ' -f1-2), $(borg --version 2>/dev/null), node $(node --version)\","
    echo "  \"machine\": \"$(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), $(free -h | awk 'NR==2{print $2}') RAM, kernel $(uname -r)\","
    echo "  \"cache\": \"warm: the tree is read with cat before each tool's first snapshot and before the churn snapshots; page cache is never dropped; free memory touched once before the tree copy (first touch of VM memory is slow)\","
    echo "  \"settings\": \"ours: defaults (zstd-$(node -e "import('$PROJ/dist/src/repo/compression.js').then((m) => console.log(m.ZSTD_LEVEL))"), --config/--db-locations /dev/null); restic: defaults (repo v2, compression auto); borg: -e none, --compression lz4\""
    echo "}"
  } >"$WORK/meta.json"

  init_repos
  for tool in $TOOLS; do
    warm_cache "$TREE"
    snapshot first "$tool"
  done
  for tool in $TOOLS; do snapshot nochange "$tool"; done
  for i in $(seq 1 "$FIND_RUNS"); do
    measure "find$i" find "" sh -c 'exec find "$1" -printf "%s %T@\n" >/dev/null' find "$TREE"
  done
  sed -i 's/^find[0-9]*\tfind/find\tfind/' "$WORK/results.tsv"

  log "churn (seed $SEED)"
  node "$PROJ/dist/bench/tree-tools.js" churn "$TREE" --seed "$SEED" | tee "$WORK/logs/churn.json" >&2
  warm_cache "$TREE"
  for tool in $TOOLS; do snapshot churn "$tool"; done
  if [ "${RESTORE:-1}" = 1 ]; then
    : >"$WORK/logs/restored.txt"
    for tool in $TOOLS; do restore_first "$tool"; done
  fi

  # The churn summary goes into the report's header.
  node -e '
    const fs = require("fs"); const [m, c] = process.argv.slice(1);
    const meta = JSON.parse(fs.readFileSync(m, "utf8")); meta.churn = JSON.parse(fs.readFileSync(c, "utf8"));
    fs.writeFileSync(m, JSON.stringify(meta, null, 2));' "$WORK/meta.json" "$WORK/logs/churn.json"
  # Sanity: the points are listed.
  case " $TOOLS " in *" ours "*) "$PROJ/bin/system_restore" --list --repo "$REPOS/ours" --config /dev/null >"$WORK/logs/ours-list.txt" 2>&1 || true ;; esac

  if [ "${PROFILE:-0}" = 1 ]; then profile_ours; fi
  node "$PROJ/dist/bench/e2e-report.js" --work "$WORK" --kind e2e --out "${OUT:-$WORK/e2e-results.md}"

  if [ "${KEEP:-0}" != 1 ]; then
    log "removing tree, repositories and tool caches (KEEP=1 keeps them)"
    rm -rf "$TREE" "$REPOS" "$WORK/cache"
  fi
  log "done; results: ${OUT:-$WORK/e2e-results.md}, logs: $WORK/logs"
}

main "$@"
