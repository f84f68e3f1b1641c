#!/usr/bin/env bash
# Builds this example against the installed stackllama4j artifact and runs it, proving that the
# coordinates in the README work. Usage: examples/embedding/run.sh [MODEL.gguf]
# (default: ../shared/models/stories260K/stories260K.gguf beside the project).
# Installs the library first (mvn install -DskipTests in the project root) unless SKIP_INSTALL=1;
# MAVEN_OFFLINE=1 adds -o to both builds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="${1:-$root/../shared/models/stories260K/stories260K.gguf}"
[ -f "$model" ] || { echo "no model file: $model (pass one as the first argument)" >&2; exit 2; }
mvn_opts=(-B -q)
if [ "${MAVEN_OFFLINE:-0}" = 1 ]; then mvn_opts+=(-o); fi
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  (cd "$root" && mvn "${mvn_opts[@]}" install -DskipTests)
fi
cd "$here"
mvn "${mvn_opts[@]}" compile exec:java -Dexec.args="$model"
