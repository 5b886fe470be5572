#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (CTest). This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./installer/build.sh
BUILD_DIR=${STUDIO_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 "$@"
