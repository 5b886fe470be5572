#!/usr/bin/env bash
# CI's sanitizer stage (installer/test.sh runs it after the main suite; STUDIO_SANITIZERS=0 skips
# it there). Builds the torch-free libraries, their tests and the libFuzzer targets with clang
# under AddressSanitizer + UndefinedBehaviorSanitizer (CMake option STUDIO_FUZZ) into build-fuzz/
# (or $STUDIO_FUZZ_BUILD_DIR), runs those tests, then each fuzz target for $STUDIO_FUZZ_SECONDS
# seconds (default 20) from its seed corpus (fuzz/run.sh). Fails on any test failure or finding.
set -euo pipefail
cd "$(dirname "$0")/.."
export STUDIO_FUZZ_BUILD_DIR=${STUDIO_FUZZ_BUILD_DIR:-build-fuzz}
./installer/install-deps.sh
fuzz/run.sh --build-only --all
# shellcheck source=fuzz/sanitizer_env.sh
. fuzz/sanitizer_env.sh
ctest --test-dir "$STUDIO_FUZZ_BUILD_DIR" --output-on-failure -j 2
fuzz/run.sh --no-build --seconds "${STUDIO_FUZZ_SECONDS:-20}" --parallel 2
