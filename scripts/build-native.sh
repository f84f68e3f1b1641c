#!/usr/bin/env bash
# Configure, build and install the native engine for Maven (phase initialize).
# Usage: scripts/build-native.sh TARGET_DIR
# Environment: SL4J_CUDA=AUTO|ON|OFF, SL4J_CUDA_ARCHS="80;86;89;90", SL4J_JOBS (default: cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-$root/target}"
mkdir -p "$target"
jobs="${SL4J_JOBS:-$(nproc 2>/dev/null || echo 2)}"
cmake -S "$root" -B "$target/cmake-build" -DCMAKE_BUILD_TYPE=Release \
  -DSL4J_CUDA="${SL4J_CUDA:-AUTO}" -DSL4J_CUDA_ARCHS="${SL4J_CUDA_ARCHS:-80;86;89;90}" \
  -DCMAKE_INSTALL_PREFIX="$target/native-install" >"$target/cmake-configure.log" 2>&1 \
  || { cat "$target/cmake-configure.log"; exit 1; }
grep -E "stackllama4j: CUDA" "$target/cmake-configure.log" || true
cmake --build "$target/cmake-build" --parallel "$jobs"
# A CUDA plugin installed by an earlier build with CUDA must not outlive a build without it.
rm -f "$target/native-install/lib/libstackllama4j_cuda.so"
cmake --install "$target/cmake-build" >/dev/null
