#!/usr/bin/env bash
# Installs the dependencies (when run as root and something is missing), configures and builds
# into build/ (or $STUDIO_BUILD_DIR). Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${STUDIO_BUILD_DIR:-build}
./installer/install-deps.sh
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
cmake --build "$BUILD_DIR" -j "${STUDIO_JOBS:-2}"
