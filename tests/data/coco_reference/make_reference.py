#!/usr/bin/env python3
"""Writes a small, realistic random COCO case and pycocotools' numbers for it, the independent
reference that tests/test_coco_reference.cpp compares the studio's evaluator with.

  PYTHONPATH=<cocoapi>/PythonAPI /usr/bin/python3 make_reference.py OUT_DIR

pycocotools is built from its public source (cocodataset/cocoapi, PythonAPI: `python3 setup.py
build_ext --inplace` with Debian's cython3 and python3-numpy); it is needed only to regenerate
these files, never by the tests or at run time. Writes OUT_DIR/gt.json (polygons, a few crowd
regions as uncompressed RLE, some tiny and some large objects), OUT_DIR/bbox_results.json,
OUT_DIR/segm_results.json (noisy copies of the ground truth, duplicates, wrong classes and
background false positives, compressed RLE) and OUT_DIR/expected.json (the 12 numbers of
COCOeval.summarize() for bbox and segm, and the per-category AP at IoU 0.50:0.95).
"""
import json, math, os, sys, types

import numpy as np

# pycocotools.coco imports matplotlib for drawing only; it is not needed to evaluate.
for name in ('matplotlib', 'matplotlib.pyplot', 'matplotlib.collections', 'matplotlib.patches'):
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules['matplotlib.collections'].PatchCollection = None
sys.modules['matplotlib.patches'].Polygon = None

# cocoapi's master still says np.float, an alias of float that numpy 1.24 removed.
if not hasattr(np, 'float'):
    np.float = float

from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

W, H, IMAGES, CATS = 320, 240, 32, 8


def blob(rng, cx, cy, rx, ry, points=10):
    xy = []
    for j in range(points):
        a = 2 * math.pi * j / points
        s = rng.uniform(0.6, 1.0)
        xy += [float(np.clip(cx + math.cos(a) * rx * s, 0, W)), float(np.clip(cy + math.sin(a) * ry * s, 0, H))]
    return [round(v, 2) for v in xy]


def poly_box(xy):
    xs, ys = xy[0::2], xy[1::2]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261204)
    images, anns, dets = [], [], []
    cats = [{'id': 2 * k + 1, 'name': 'class%d' % k} for k in range(CATS)]  # ids 1, 3, 5, ...: not 1..K
    for i in range(1, IMAGES + 1):
        images.append({'id': i, 'file_name': '%06d.jpg' % i, 'width': W, 'height': H})
        for _ in range(int(rng.integers(2, 9))):
            cat = cats[int(rng.integers(0, CATS))]['id']
            r = float(rng.choice([4, 12, 30, 60]))  # small, medium and large areas
            cx, cy = float(rng.uniform(r, W - r)), float(rng.uniform(r, H - r))
            xy = blob(rng, cx, cy, r * rng.uniform(0.7, 1.3), r * rng.uniform(0.7, 1.3))
            crowd = rng.uniform() < 0.06
            ann = {'id': len(anns) + 1, 'image_id': i, 'category_id': cat, 'iscrowd': int(crowd)}
            rle = mask_utils.merge(mask_utils.frPyObjects([xy], H, W))
            if crowd:
                # Crowd regions as COCO writes them: uncompressed RLE (column-major run lengths).
                m = mask_utils.decode(rle)
                flat = m.flatten(order='F')
                counts, run, cur = [], 0, 0
                for v in flat:
                    if v != cur:
                        counts.append(run)
                        run, cur = 0, v
                    run += 1
                counts.append(run)
                ann['segmentation'] = {'size': [H, W], 'counts': [int(c) for c in counts]}
            else:
                ann['segmentation'] = [xy]
            ann['area'] = float(mask_utils.area(rle))
            ann['bbox'] = [round(v, 2) for v in poly_box(xy)]
            anns.append(ann)
            # Detections of this object: usually one noisy copy, sometimes a duplicate or a wrong class.
            for copy in range(int(rng.choice([0, 1, 1, 1, 2]))):
                jit = r * (0.15 if copy == 0 else 0.4)
                dxy = [round(float(np.clip(v + rng.normal(0, jit), 0, W if k % 2 == 0 else H)), 2)
                       for k, v in enumerate(xy)]
                dcat = cat if rng.uniform() < 0.85 else cats[int(rng.integers(0, CATS))]['id']
                dets.append((i, dcat, dxy, float(rng.uniform(0.05, 1.0))))
        for _ in range(int(rng.integers(8, 30))):  # background false positives
            r = float(rng.uniform(3, 50))
            xy = blob(rng, float(rng.uniform(0, W)), float(rng.uniform(0, H)), r, r * rng.uniform(0.5, 1.5))
            dets.append((i, cats[int(rng.integers(0, CATS))]['id'], xy, float(rng.uniform(0.0, 0.7))))
    gt = {'images': images, 'annotations': anns, 'categories': cats}
    bbox_results, segm_results = [], []
    for i, cat, xy, score in dets:
        score = round(score, 4)  # ties on purpose
        bbox_results.append({'image_id': i, 'category_id': cat, 'bbox': [round(v, 2) for v in poly_box(xy)], 'score': score})
        rle = mask_utils.merge(mask_utils.frPyObjects([xy], H, W))
        segm_results.append({'image_id': i, 'category_id': cat, 'score': score,
                             'segmentation': {'size': [H, W], 'counts': rle['counts'].decode('ascii')}})
    os.makedirs(out, exist_ok=True)
    files = {'gt.json': gt, 'bbox_results.json': bbox_results, 'segm_results.json': segm_results}
    for name, obj in files.items():
        with open(os.path.join(out, name), 'w') as f:
            json.dump(obj, f, separators=(',', ':'))
    expected = {'crowd_annotations': int(sum(a['iscrowd'] for a in anns)), 'annotations': len(anns), 'detections': len(dets)}
    gt_coco = COCO(os.path.join(out, 'gt.json'))
    for iou_type in ('bbox', 'segm'):
        dt_coco = gt_coco.loadRes(os.path.join(out, iou_type + '_results.json'))
        ev = COCOeval(gt_coco, dt_coco, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        per_cat = []
        for k, cat_id in enumerate(ev.params.catIds):
            p = ev.eval['precision'][:, :, k, 0, 2]
            per_cat.append({'category_id': int(cat_id), 'ap': float(np.mean(p[p > -1])) if (p > -1).any() else -1.0})
        expected[iou_type] = {'stats': [float(v) for v in ev.stats], 'per_category': per_cat}
    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)


if __name__ == '__main__':
    main()
