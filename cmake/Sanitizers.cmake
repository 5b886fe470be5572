# STUDIO_FUZZ: every target is built with AddressSanitizer and UndefinedBehaviorSanitizer (any
# undefined behaviour stops the program) and instrumented for libFuzzer's coverage feedback, so
# the libraries the fuzz targets link guide the fuzzer too. The targets under fuzz/ add libFuzzer
# itself (-fsanitize=fuzzer); the tests run as ordinary programs under the same sanitizers.
# Debian 12: clang-14, libclang-rt-14-dev (the sanitizer and libFuzzer runtimes), llvm-14
# (llvm-symbolizer, for readable reports).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "STUDIO_FUZZ needs clang (libFuzzer); fuzz/run.sh configures it, or: "
                      "CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DSTUDIO_FUZZ=ON")
endif()
# sanitizer_ignorelist.txt: checks left out in third-party headers, each with its reason.
set(STUDIO_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/sanitizer_ignorelist.txt)
add_compile_options(${STUDIO_SANITIZER_FLAGS} -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -O1 -g)
add_link_options(${STUDIO_SANITIZER_FLAGS})
