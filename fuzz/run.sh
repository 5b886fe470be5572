#!/usr/bin/env bash
# Builds the sanitizer configuration (STUDIO_FUZZ, clang, ASan + UBSan) when needed and runs each
# libFuzzer target for a given time or number of executions, starting from its seed corpus
# (fuzz/corpus/<reader>/). Prints each target's executions, speed, coverage and findings; exits
# non-zero when any target found something (a crash, sanitizer report, leak, timeout, out of memory
# or an exception other than studio::Error).
#
#   fuzz/run.sh --seconds 30                  every target for 30 s
#   fuzz/run.sh --runs 1000000 coco pth       these two for a million executions each
#   fuzz/run.sh --build-only | --no-build ...  build without running / run without building
#
# Options: --parallel N (targets at a time, default 1), --timeout S (one input's limit, default 25),
# --all (build the whole sanitizer configuration, its tests too, not only the fuzz targets).
# Inputs that add coverage go to <build>/fuzz-corpus/<reader>/ (kept between runs, never into the
# repository), findings to <build>/fuzz-findings/<reader>/, full logs to <build>/fuzz-logs/. Past
# findings kept in fuzz/findings/<reader>/ are replayed at the start of every run.
# The build folder is build-fuzz, or $STUDIO_FUZZ_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(coco results voc txt recipe pth)
BUILD_DIR=${STUDIO_FUZZ_BUILD_DIR:-build-fuzz}
limit=() seconds="" runs="" build=1 run=1 parallel=1 timeout=25 targets=() build_target=fuzz_targets

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; limit=(-max_total_time="$2"); shift 2 ;;
    --runs) runs=$2; limit=(-runs="$2"); shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --build-only) run=0; shift ;;
    --all) build_target=""; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "run.sh: no target '$t' (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

if [ "$build" = 1 ]; then
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    # clang-14 (install-deps.sh) installs clang++-14; the `clang` package adds the plain name.
    cxx=$(command -v clang++ || command -v clang++-14 || echo clang++)
    CXX=$cxx cmake -S . -B "$BUILD_DIR" -G Ninja -DSTUDIO_FUZZ=ON >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j "${STUDIO_JOBS:-2}" ${build_target:+--target "$build_target"}
fi
[ "$run" = 1 ] || exit 0
if [ -z "$seconds" ] && [ -z "$runs" ]; then
  echo "run.sh: give --seconds N or --runs N" >&2
  exit 2
fi

# shellcheck source=fuzz/sanitizer_env.sh
. fuzz/sanitizer_env.sh

# One target: its log ends with libFuzzer's final statistics, which the summary reads.
run_target() {
  local t=$1
  local exe="$BUILD_DIR/fuzz/fuzz_$t" scratch="$BUILD_DIR/fuzz-corpus/$t" found="$BUILD_DIR/fuzz-findings/$t"
  mkdir -p "$scratch" "$found"
  # The first folder receives new inputs; the seeds and past findings (fuzz/findings/<reader>/,
  # replayed first, so a fixed bug stays fixed) are only read.
  local corpora=("$scratch" "fuzz/corpus/$t")
  [ -d "fuzz/findings/$t" ] && corpora+=("fuzz/findings/$t")
  local start=$SECONDS rc=0
  "$exe" "${limit[@]}" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$found/" "${corpora[@]}" >"$BUILD_DIR/fuzz-logs/$t.log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - start))" >"$BUILD_DIR/fuzz-logs/$t.status"
}

mkdir -p "$BUILD_DIR/fuzz-logs"
for t in "${targets[@]}"; do
  rm -f "$BUILD_DIR/fuzz-logs/$t.status"
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  echo "fuzz: running fuzz_$t (${seconds:+$seconds s}${runs:+$runs runs})"
  run_target "$t" &
done
wait

printf '\n%-8s %12s %8s %9s %7s %7s  %s\n' target executions seconds exec/s cov ft findings
failed=0
for t in "${targets[@]}"; do
  log="$BUILD_DIR/fuzz-logs/$t.log"
  read -r rc took <"$BUILD_DIR/fuzz-logs/$t.status"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" = 0 ]; then
    what=none
  else
    failed=1
    artifact=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -1)
    reason=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^ ]+( [^ ]+)?|runtime error: .*|FINDING: .*|terminate called .*' "$log" || echo "exit $rc")
    what="$reason -> ${artifact:-no artifact} (log: $log)"
  fi
  printf '%-8s %12s %8s %9s %7s %7s  %s\n' "$t" "${execs:-?}" "$took" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$what"
done
exit "$failed"
