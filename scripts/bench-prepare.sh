#!/usr/bin/env bash
# Bounded-memory benchmark of `prepare`: generates a synthetic dump of about SIZE_MB megabytes
# (default 1024) and runs prepare on it under a heap far smaller than the input (HEAP, default 128m),
# then does the same on the real beer dump if ../shared is present. Prints MB/s and peak heap: the
# command's own figure (sum of heap pools' peaks, an upper bound that may exceed -Xmx since pools peak
# at different times) and, from the GC log, the largest occupancy before a collection and the largest
# live set after one.
#   SIZE_MB=1024 HEAP=128m BUFFER_MB=32 scripts/bench-prepare.sh [WORKDIR]
# STACKLLAMA4J names the launcher (default scripts/stackllama4j, which builds the jar if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${STACKLLAMA4J:-$root/scripts/stackllama4j}"
size_mb="${SIZE_MB:-1024}"
heap="${HEAP:-128m}"
buffer_mb="${BUFFER_MB:-32}"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/bench-prepare.XXXXXX")}"
mkdir -p "$work"

# about 1.11 kB of Posts.xml per synthetic question (measured: 10,000 questions = 11.1 MB)
questions=$(( size_mb * 1000000 / 1110 ))
posts="$work/synth/Posts.xml"
if [ ! -f "$posts" ] || [ "${REGEN:-0}" = 1 ]; then
  echo "generating $questions questions (~${size_mb} MB) in $posts"
  "$cli" synth-site --out "$posts" --questions "$questions" --seed 1
fi

gc_before() { # largest occupancy before a collection, from lines like "Pause Young (Normal) ... 45M->12M(128M)"
  grep -o '[0-9]*M->' "$1" | sed 's/M->//' | sort -n | tail -1
}
gc_after() { # largest occupancy right after a collection: the live set, the figure that must stay bounded
  grep -o '[0-9]*M->[0-9]*M' "$1" | sed 's/.*->//; s/M//' | sort -n | tail -1
}

run_one() { # name posts
  local name="$1" input="$2" out="$work/out-$1" gclog="$work/gc-$1.log"
  rm -rf "$out"
  local bytes t0 t1
  bytes=$(stat -c %s "$input")
  t0=$(date +%s.%N)
  JAVA_OPTS="-Xmx$heap -Xlog:gc:file=$gclog" "$cli" prepare --posts "$input" --out "$out" \
    --buffer-mb "$buffer_mb" --seed 0 2>&1 | sed "s/^/  [$name] /"
  t1=$(date +%s.%N)
  awk -v b="$bytes" -v t0="$t0" -v t1="$t1" -v p="$(gc_before "$gclog")" -v l="$(gc_after "$gclog")" -v h="$heap" -v n="$name" \
    'BEGIN { s = t1 - t0; printf "%s: %.1f MB in %.1f s wall (JVM start included): %.1f MB/s; -Xmx%s; GC log: peak heap %s MB before a collection, %s MB live after one\n", n, b/1e6, s, b/1e6/s, h, p, l }'
}

run_one synthetic "$posts"
beer="$root/../shared/data/stackexchange/beer/Posts.xml"
if [ -f "$beer" ]; then
  run_one beer "$beer"
else
  echo "beer: skipped, $beer is absent"
fi
