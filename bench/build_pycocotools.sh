#!/usr/bin/env bash
# Builds pycocotools from source into a scratch folder, for benchmarking only (bench/pycocotools_time.py
# times it against the studio's COCO code). It is never a run-time or test dependency.
#
# Usage: bench/build_pycocotools.sh SRC OUT
#   SRC  an extracted cocoapi source tree holding PythonAPI/ and common/: the public repository
#        https://github.com/cocodataset/cocoapi, e.g.
#          git clone --depth 1 https://github.com/cocodataset/cocoapi /tmp/cocoapi
#        or, from a bare mirror: git --git-dir=MIRROR archive HEAD PythonAPI common | tar -x -C SRC
#   OUT  a temporary folder to build in (created; SRC is left untouched)
# Needs Debian's cython3 python3-dev python3-numpy (apt-get install -y cython3 python3-dev python3-numpy)
# and builds for /usr/bin/python3 with cocoapi's own setup.py (build_ext --inplace).
# Prints the PYTHONPATH to use as its last line: PYTHONPATH=OUT/PythonAPI
set -euo pipefail

die() { echo "build_pycocotools.sh: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: $0 SRC OUT"
src=$1 out=$2
py=/usr/bin/python3

[[ -f $src/PythonAPI/setup.py && -f $src/PythonAPI/pycocotools/_mask.pyx && -f $src/common/maskApi.c ]] \
  || die "$src is not a cocoapi source tree (needs PythonAPI/setup.py, PythonAPI/pycocotools/_mask.pyx, common/maskApi.c)"
[[ -x $py ]] || die "$py not found"
$py -c 'import numpy' 2>/dev/null || die "numpy missing for $py: apt-get install -y python3-numpy"
$py -c 'import Cython' 2>/dev/null || die "Cython missing for $py: apt-get install -y cython3"
inc=$($py -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[[ -f $inc/Python.h ]] || die "$inc/Python.h missing: apt-get install -y python3-dev"

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/PythonAPI" "$out/common"
cp -r "$src/PythonAPI" "$src/common" "$out/"

# setup.py names ../common relative to PythonAPI, so it runs from there.
(cd "$out/PythonAPI" && $py setup.py build_ext --inplace >"$out/build.log" 2>&1) \
  || { tail -n 30 "$out/build.log" >&2; die "build failed; full log in $out/build.log"; }
rm -rf "$out/PythonAPI/build"

# The check stubs matplotlib, which pycocotools.coco imports for drawing only.
PYTHONPATH="$out/PythonAPI" $py -c '
import sys, types
for n in ("matplotlib", "matplotlib.pyplot", "matplotlib.collections", "matplotlib.patches"):
    sys.modules.setdefault(n, types.ModuleType(n))
sys.modules["matplotlib.collections"].PatchCollection = None
sys.modules["matplotlib.patches"].Polygon = None
from pycocotools import mask, coco, cocoeval
' || die "built, but pycocotools does not import from $out/PythonAPI; see $out/build.log"

echo "PYTHONPATH=$out/PythonAPI"
