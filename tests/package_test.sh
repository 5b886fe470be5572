#!/usr/bin/env bash
# The Debian package (cmake/Packaging.cmake): built with CPack from the build tree into a scratch
# folder, then checked as a user would meet it: its control fields and dependencies, the files it
# installs (binaries, recipes, desktop entry, icon), the binaries run from an unpacked copy with
# only Debian's libraries, and apt accepts it (a simulated install: nothing is installed).
#   tests/package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$work" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" > "$work/cpack.log" 2>&1) \
  || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/out/studio_*_amd64.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no studio_*_amd64.deb in $work/out"

[ "$(dpkg-deb -f "$deb" Package)" = studio ] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libqt6widgets6 libtorch1.13 libopencv-imgcodecs406 libyaml-cpp0.7 libsimdjson14 libqcustomplot2.1-qt6; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/studio ./usr/bin/studio-cli ./usr/share/applications/studio.desktop \
         ./usr/share/icons/hicolor/scalable/apps/studio.svg ./usr/share/studio/configs/solov2_r18_fpn_shapes_cpu.yaml \
         ./usr/share/studio/configs/datasets/shapes_demo.yaml; do
  grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done

dpkg-deb -x "$deb" "$work/root"
desktop=$work/root/usr/share/applications/studio.desktop
grep -qx 'Exec=studio' "$desktop" && grep -qx 'Icon=studio' "$desktop" && grep -qx 'Type=Application' "$desktop" \
  || fail "desktop entry: $(cat "$desktop")"
if command -v desktop-file-validate > /dev/null; then desktop-file-validate "$desktop" || fail "desktop-file-validate"; fi
# Stripped, with no path into the build tree: they run on Debian's libraries alone.
for b in studio studio-cli; do
  ! readelf -d "$work/root/usr/bin/$b" | grep -q 'R.*PATH' || fail "$b keeps an RPATH"
  ! readelf -S "$work/root/usr/bin/$b" | grep -q '\.debug_info' || fail "$b is not stripped"
done
"$work/root/usr/bin/studio-cli" --help | grep -q 'train' || fail "studio-cli --help"
env -u DISPLAY -u WAYLAND_DISPLAY "$work/root/usr/bin/studio" --help | grep -qi 'usage' || fail "studio --help"
"$work/root/usr/bin/studio-cli" model --config "$work/root/usr/share/studio/configs/ssd_mobilenetv2_lite_shapes_cpu.yaml" \
  > "$work/model.txt" 2>&1 || { cat "$work/model.txt" >&2; fail "studio-cli model on an installed recipe"; }

if command -v apt-get > /dev/null; then
  apt-get install --simulate "$deb" > "$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install --simulate"; }
  grep -q '^Inst studio' "$work/apt.log" || fail "apt would not install studio: $(cat "$work/apt.log")"
fi
echo "package ok: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB; Depends: $depends"
