#!/usr/bin/python3
"""Times pycocotools, the reference side of bench_coco_load and bench_coco_eval. Benchmarking only:
build pycocotools with bench/build_pycocotools.sh and point PYTHONPATH at it.

Usage:
  PYTHONPATH=... pycocotools_time.py load FILE [--repeat N]
  PYTHONPATH=... pycocotools_time.py eval GT RESULTS --iou bbox|segm [--repeat N]

Each repeat runs in a fresh python3 process, so its peak memory is that of one run (the peak RSS of
the whole process, interpreter and numpy included). The time covers, after the imports:
  load:  COCO(FILE), the JSON load and createIndex;
  eval:  COCO(GT), loadRes(RESULTS), COCOeval evaluate, accumulate and summarize.
pycocotools' own printing goes to /dev/null. The last line printed is
  RESULT load_s=<median s> peak_mib=<max MiB> repeat=<N>
  RESULT eval_s=<median s> peak_mib=<max MiB> repeat=<N> stats=<the 12 summarize() numbers>
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import types

import numpy as np


def import_pycocotools():
    # pycocotools.coco imports matplotlib for drawing only; it is not needed to load or evaluate.
    for name in ('matplotlib', 'matplotlib.pyplot', 'matplotlib.collections', 'matplotlib.patches'):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules['matplotlib.collections'].PatchCollection = None
    sys.modules['matplotlib.patches'].Polygon = None
    # cocoapi's master still says np.float, an alias of float that numpy 1.24 removed.
    if not hasattr(np, 'float'):
        np.float = float
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as e:
        sys.exit('pycocotools not importable from PYTHONPATH=%s: %s'
                 % (os.environ.get('PYTHONPATH', ''), e))
    return COCO, COCOeval


def run_once(args):
    """One timed run in this process; prints one JSON line to the real stdout."""
    COCO, COCOeval = import_pycocotools()
    real_stdout = os.fdopen(os.dup(1), 'w')
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # pycocotools prints; keep it off the result
    stats = []
    start = time.perf_counter()
    if args.mode == 'load':
        COCO(args.file)
    else:
        gt = COCO(args.gt)
        dt = gt.loadRes(args.results)
        E = COCOeval(gt, dt, args.iou)
        E.evaluate()
        E.accumulate()
        E.summarize()
        stats = [float(s) for s in E.stats]
    seconds = time.perf_counter() - start
    sys.stdout.flush()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({'seconds': seconds, 'peak_kib': peak_kib, 'stats': stats}), file=real_stdout)
    real_stdout.flush()


def main():
    p = argparse.ArgumentParser(description='Times pycocotools (benchmarking only).')
    p.add_argument('--once', action='store_true', help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest='mode', required=True)
    load = sub.add_parser('load', help='time COCO(FILE)')
    load.add_argument('file')
    ev = sub.add_parser('eval', help='time a whole COCOeval')
    ev.add_argument('gt')
    ev.add_argument('results')
    ev.add_argument('--iou', choices=('bbox', 'segm'), required=True)
    for s in (load, ev):
        s.add_argument('--repeat', type=int, default=3)
    args = p.parse_args()
    if args.once:
        return run_once(args)
    if args.repeat < 1:
        p.error('--repeat must be at least 1')

    import_pycocotools()  # fail early, with the message, before any run
    child = [sys.executable, os.path.abspath(__file__), '--once'] + sys.argv[1:]
    runs = []
    for _ in range(args.repeat):
        r = subprocess.run(child, stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit('pycocotools_time.py: a run failed (exit %d)' % r.returncode)
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))

    line = 'RESULT %s_s=%.4f peak_mib=%.1f repeat=%d' % (
        args.mode, statistics.median(r['seconds'] for r in runs),
        max(r['peak_kib'] for r in runs) / 1024.0, args.repeat)
    if args.mode == 'eval':
        line += ' stats=' + ','.join('%.17g' % s for s in runs[-1]['stats'])
    print(line)


if __name__ == '__main__':
    main()
