#!/usr/bin/env bash
# Installs every build, test and run-time dependency of the studio from Debian 12 packages.
# Run as root on a fresh machine. Idempotent: when everything is present it only checks and exits.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # the sanitizer build and fuzz targets (installer/sanitize.sh, fuzz/): clang, its sanitizer and
  # libFuzzer runtimes (libclang_rt.*), llvm-symbolizer for readable reports
  clang-14 libclang-rt-14-dev llvm-14
  # Qt 6 (widgets, test, SVG export) and the plotting widget's Qt 6 build
  qt6-base-dev qt6-base-dev-tools libgl-dev libqcustomplot-dev libqcustomplot2.1-qt6 qt6-svg-dev
  # LibTorch (CPU) and Gloo for data-parallel CPU training. Debian's LibTorch calls libblas.so.3,
  # which is the single-threaded reference BLAS unless an optimised one is installed; OpenBLAS's
  # OpenMP build takes over libblas.so.3 through Debian's alternatives and shares LibTorch's
  # OpenMP runtime (libgomp), so its threads follow at::set_num_threads without oversubscribing.
  # Float32 linear layers (Mask R-CNN's fc6/fc7) run several times faster with it.
  libtorch-dev libgloo-dev libopenblas0-openmp
  # images: only the OpenCV modules we use (core, imgproc, imgcodecs)
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  # configs, JSON (fast reading: simdjson; writing: RapidJSON's streaming writer), XML, CLI, logging
  libyaml-cpp-dev libsimdjson-dev rapidjson-dev libpugixml-dev libcli11-dev libspdlog-dev
  # GUI tests and screenshots without a display
  xvfb xauth
  # test dependencies: python3 writes the state-dict files of the weights-import tests; Debian's
  # torch 1.13 and torchvision 0.14 (run as /usr/bin/python3) write the parity fixtures of the
  # detection ops (tests/torchvision/). Never needed at run time.
  python3 python3-torchvision
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
