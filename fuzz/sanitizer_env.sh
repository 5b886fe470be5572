# Sourced by fuzz/run.sh and installer/sanitize.sh: how the sanitizer build's programs report.
# Leaks count, as does use of a stack frame after return; any undefined behaviour stops the program
# with a stack; llvm-symbolizer (Debian's llvm-14) turns addresses into file:line.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer || echo /usr/lib/llvm-14/bin/llvm-symbolizer)
fi
export ASAN_SYMBOLIZER_PATH
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
