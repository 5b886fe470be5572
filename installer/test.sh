#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (CTest), then the sanitizer stage
# (installer/sanitize.sh: the torch-free tests under ASan + UBSan and a short run of each fuzz
# target; STUDIO_SANITIZERS=0 leaves it out). This is what CI runs. Extra arguments go to CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./installer/build.sh
BUILD_DIR=${STUDIO_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 "$@"
if [ "${STUDIO_SANITIZERS:-1}" != 0 ]; then
  ./installer/sanitize.sh
fi
