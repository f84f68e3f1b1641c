#!/usr/bin/env bash
# Bounded-memory benchmark of `prepare`: generates a synthetic dump of about SIZE_MB megabytes
# (default 1024) and runs prepare on it under a heap far smaller than the input (HEAP, default 128m),
# then does the same on the real beer dump if ../shared is present. Prints MB/s and peak heap: the
# command's own figure (sum of heap pools' peaks, an upper bound that may exceed -Xmx since pools peak
# at different times) and, from the GC log, the largest occupancy before a collection and the largest
# live set after one.
#   SIZE_MB=1024 HEAP=128m BUFFER_MB=32 scripts/bench-prepare.sh [WORKDIR]
# --replicated: instead, a real site (../shared's beer dump) replicated with fresh ids to about
# SIZE_MB (default 250) megabytes, run ROUNDS times (default 2) alternating --threads 1 (parse and
# convert in turn) with the pipeline (--threads = cores, one converter per core) under HEAP (default 256m),
# each with wall and CPU seconds; then a synthetic site of SEVENZ_MB (default 20) as a .7z dump beside
# the same site as plain XML. MODES (default "threads1 pipeline") picks the runs of each round; PEER
# names a second launcher (another build) whose runs alternate with ours on the same input.
# SIZE_MB=1000 MODES=pipeline ROUNDS=1 scripts/bench-prepare.sh --replicated is the 1 GB bounded-memory check.
# STACKLLAMA4J names the launcher (default scripts/stackllama4j, which builds the jar if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${STACKLLAMA4J:-$root/scripts/stackllama4j}"
replicated=0
if [ "${1:-}" = "--replicated" ]; then replicated=1; shift; fi
size_mb="${SIZE_MB:-$([ $replicated = 1 ] && echo 250 || echo 1024)}"
heap="${HEAP:-$([ $replicated = 1 ] && echo 256m || echo 128m)}"
buffer_mb="${BUFFER_MB:-32}"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/bench-prepare.XXXXXX")}"
mkdir -p "$work"


gc_before() { # largest occupancy before a collection, from lines like "Pause Young (Normal) ... 45M->12M(128M)"
  grep -o '[0-9]*M->' "$1" | sed 's/M->//' | sort -n | tail -1
}
gc_after() { # largest occupancy right after a collection: the live set, the figure that must stay bounded
  grep -o '[0-9]*M->[0-9]*M' "$1" | sed 's/.*->//; s/M//' | sort -n | tail -1
}

run_one() { # name posts xml-bytes [prepare flags...]
  local name="$1" input="$2" bytes="$3" out="$work/out-$1" gclog="$work/gc-$1.log"
  shift 3
  rm -rf "$out"
  local t0 t1 cpu
  t0=$(date +%s.%N)
  cpu=$( { TIMEFORMAT='%U %S'; time JAVA_OPTS="-Xmx$heap -Xlog:gc:file=$gclog" "${launcher:-$cli}" prepare --posts "$input" --out "$out" \
    --buffer-mb "$buffer_mb" --seed 0 "$@" >"$work/log-$name.txt" 2>&1; } 2>&1 | tail -1)
  t1=$(date +%s.%N)
  sed "s/^/  [$name] /" "$work/log-$name.txt"
  awk -v b="$bytes" -v t0="$t0" -v t1="$t1" -v c="$cpu" -v p="$(gc_before "$gclog")" -v l="$(gc_after "$gclog")" -v h="$heap" -v n="$name" \
    'BEGIN { s = t1 - t0; split(c, u, " "); printf "%s: %.1f MB in %.1f s wall (JVM start included): %.1f MB/s; CPU %.1f s (user %.1f + sys %.1f); -Xmx%s; GC log: peak heap %s MB before a collection, %s MB live after one\n", n, b/1e6, s, b/1e6/s, u[1]+u[2], u[1], u[2], h, p, l }'
}

if [ $replicated = 1 ]; then
  beer="$root/../shared/data/stackexchange/beer/Posts.xml"
  [ -f "$beer" ] || { echo "--replicated: $beer is absent"; exit 1; }
  posts="$work/replicated/Posts.xml"
  if [ ! -f "$posts" ] || [ "${REGEN:-0}" = 1 ]; then
    mkdir -p "$work/replicated"
    echo "replicating $beer to ~${size_mb} MB with fresh ids in $posts"
    # copy k shifts Id, ParentId and AcceptedAnswerId by k * 10^7 (beer's ids are far below that)
    python3 - "$beer" "$posts" "$size_mb" <<'PY'
import re, sys
src, dst, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [l for l in open(src, encoding="utf-8-sig") if l.lstrip().startswith("<row ")]
size = sum(len(l.encode()) for l in rows)
ids = re.compile(r' (Id|ParentId|AcceptedAnswerId)="(\d+)"')
with open(dst, "w", encoding="utf-8") as out:
    out.write('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n')
    for k in range(max(1, mb * 1000000 // size)):
        off = k * 10_000_000
        for l in rows:
            out.write(ids.sub(lambda m: ' %s="%d"' % (m.group(1), int(m.group(2)) + off), l))
    out.write("</posts>\n")
PY
  fi
  bytes=$(stat -c %s "$posts")
  for r in $(seq 1 "${ROUNDS:-2}"); do
    for mode in ${MODES:-threads1 pipeline}; do
      flags=(--threads "$(nproc)"); [ "$mode" = threads1 ] && flags=(--threads 1)
      run_one "replicated-$mode-r$r" "$posts" "$bytes" "${flags[@]}"
      if [ -n "${PEER:-}" ]; then launcher="$PEER" run_one "peer-replicated-$mode-r$r" "$posts" "$bytes" "${flags[@]}"; fi
    done
  done
  [ "${SEVENZ_MB:-20}" = 0 ] && exit 0
  sz="$work/sevenz"
  q=$(( ${SEVENZ_MB:-20} * 1000000 / 1110 ))
  if [ ! -f "$sz/synth.stackexchange.com.7z" ] || [ "${REGEN:-0}" = 1 ]; then
    "$cli" synth-site --out "$sz/synth.stackexchange.com.7z" --questions "$q" --seed 1
    "$cli" synth-site --out "$sz/xml/synth.stackexchange.com/Posts.xml" --questions "$q" --seed 1
  fi
  xbytes=$(stat -c %s "$sz/xml/synth.stackexchange.com/Posts.xml")
  echo "7z archive: $(stat -c %s "$sz/synth.stackexchange.com.7z") bytes holding $xbytes bytes of XML"
  run_one synth-xml "$sz/xml/synth.stackexchange.com/Posts.xml" "$xbytes"
  run_one synth-7z "$sz/synth.stackexchange.com.7z" "$xbytes"
  exit 0
fi

# about 1.11 kB of Posts.xml per synthetic question (measured: 10,000 questions = 11.1 MB)
questions=$(( size_mb * 1000000 / 1110 ))
posts="$work/synth/Posts.xml"
if [ ! -f "$posts" ] || [ "${REGEN:-0}" = 1 ]; then
  echo "generating $questions questions (~${size_mb} MB) in $posts"
  "$cli" synth-site --out "$posts" --questions "$questions" --seed 1
fi
run_one synthetic "$posts" "$(stat -c %s "$posts")"
beer="$root/../shared/data/stackexchange/beer/Posts.xml"
if [ -f "$beer" ]; then
  run_one beer "$beer" "$(stat -c %s "$beer")"
else
  echo "beer: skipped, $beer is absent"
fi
