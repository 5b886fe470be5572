#!/usr/bin/env bash
# Builds the studio (installer/build.sh) and its Debian package with CPack, and says how to
# install it. The package holds studio, studio-cli, the recipes, a desktop entry and an icon; its
# dependencies are the Debian packages the binaries link (dpkg-shlibdeps).
#   installer/package.sh                      ->  build/studio_<version>_amd64.deb
#   apt-get install ./build/studio_*.deb      (as root; with sudo on a desktop)
set -euo pipefail
cd "$(dirname "$0")/.."
./installer/build.sh
BUILD_DIR=${STUDIO_BUILD_DIR:-build}
(cd "$BUILD_DIR" && cpack -G DEB)
deb=$(ls -t "$BUILD_DIR"/studio_*.deb | head -n 1)
echo
echo "package: $deb"
echo "install: apt-get install ./$deb   (as root; otherwise: sudo apt-get install ./$deb)"
echo "then start Studio from the desktop menu, or run: studio"
