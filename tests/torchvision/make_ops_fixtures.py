#!/usr/bin/env python3
"""Writes the torchvision 0.14 parity fixtures of the detection ops (tests/test_detection_ops_torchvision.cpp).

Usage: make_ops_fixtures.py OUT_DIR
Writes OUT_DIR/torchvision_ops.pt: one torch.save'd OrderedDict of tensors named "<case>/<what>",
the inputs and torchvision's outputs, from fixed seeds. Needs Debian's python3-torch and
python3-torchvision (torch 1.13, torchvision 0.14); any failure exits non-zero, so a machine
without them fails the test instead of skipping it.
"""
import math
import os
import sys
from collections import OrderedDict

import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import paste_masks_in_image
from torchvision.ops import boxes as box_ops
from torchvision.ops import poolers


def random_boxes(n, extent, min_size=1.0, max_size=None, dtype=torch.float32):
    """n boxes x1, y1, x2, y2 with corners in [0, extent) and sizes in [min_size, max_size]."""
    max_size = max_size or extent / 2
    xy = torch.rand(n, 2, dtype=torch.float64) * extent
    wh = min_size + torch.rand(n, 2, dtype=torch.float64) * (max_size - min_size)
    return torch.cat([xy, xy + wh], 1).to(dtype)


def main(out_dir):
    assert torchvision.__version__.startswith("0.14"), f"torchvision 0.14 expected, got {torchvision.__version__}"
    os.makedirs(out_dir, exist_ok=True)
    f = OrderedDict()
    f["meta/torch_version_major_minor"] = torch.tensor([int(v) for v in torch.__version__.split(".")[:2]])

    # ---- box ops ----
    torch.manual_seed(1)
    b1 = random_boxes(20, 100.0)
    b2 = torch.cat([random_boxes(29, 100.0), b1[:1]])  # one exact duplicate: IoU 1
    f["box_iou/boxes1"], f["box_iou/boxes2"] = b1, b2
    f["box_iou/iou"] = box_ops.box_iou(b1, b2)
    f["box_area/area"] = box_ops.box_area(b1)
    small = random_boxes(50, 20.0, min_size=0.0, max_size=3.0)
    f["remove_small_boxes/boxes"] = small
    f["remove_small_boxes/keep_1"] = box_ops.remove_small_boxes(small, 1.0)
    f["remove_small_boxes/keep_1e-2"] = box_ops.remove_small_boxes(small, 1e-2)
    wild = random_boxes(30, 140.0) - 20.0
    f["clip/boxes"] = wild
    f["clip/clipped_80x100"] = box_ops.clip_boxes_to_image(wild, (80, 100))  # (height, width)

    # ---- nms: scores rounded to 2 decimals, so there are many ties (the sort order matters) ----
    torch.manual_seed(2)
    boxes = random_boxes(300, 200.0, min_size=5.0, max_size=60.0)
    scores = (torch.rand(300) * 100).round() / 100
    f["nms/boxes"], f["nms/scores"] = boxes, scores
    for thr in (0.3, 0.5, 0.7):
        f[f"nms/keep_{thr}"] = box_ops.nms(boxes, scores, thr)
    f["nms/boxes_f64"], f["nms/scores_f64"] = boxes.double(), scores.double()
    f["nms/keep_f64_0.5"] = box_ops.nms(boxes.double(), scores.double(), 0.5)
    # batched: 500 boxes take the coordinate trick, 1200 (numel > 4000) the per-class loop.
    for n in (500, 1200):
        torch.manual_seed(3 + n)
        bb = random_boxes(n, 300.0, min_size=5.0, max_size=80.0)
        ss = (torch.rand(n) * 50).round() / 50
        ii = torch.randint(0, 5, (n,))
        f[f"batched_nms_{n}/boxes"], f[f"batched_nms_{n}/scores"], f[f"batched_nms_{n}/idxs"] = bb, ss, ii
        f[f"batched_nms_{n}/keep_0.5"] = box_ops.batched_nms(bb, ss, ii, 0.5)
        f[f"batched_nms_{n}/keep_0.7"] = box_ops.batched_nms(bb, ss, ii, 0.7)

    # ---- box coder ----
    torch.manual_seed(4)
    props = random_boxes(200, 500.0, min_size=2.0, max_size=200.0)
    gts = random_boxes(200, 500.0, min_size=2.0, max_size=200.0)
    f["box_coder/proposals"], f["box_coder/gt"] = props, gts
    deltas = torch.randn(200, 8) * 2
    deltas[:10, 2::4] = 10.0  # beyond log(1000/16): the clamp
    f["box_coder/deltas"] = deltas
    for name, w in (("rpn", (1.0, 1.0, 1.0, 1.0)), ("roi", (10.0, 10.0, 5.0, 5.0))):
        coder = det_utils.BoxCoder(w)
        f[f"box_coder/encode_{name}"] = coder.encode_single(gts, props)
        f[f"box_coder/decode_{name}"] = coder.decode(deltas, [props])  # [200, 2, 4]

    # ---- anchors: a 480x640 image resized to 800x1066, padded to 800x1088, P2-P6 ----
    gen = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
    images = ImageList(torch.zeros(1, 3, 800, 1088), [(800, 1066)])
    grids = [(200, 272), (100, 136), (50, 68), (25, 34), (13, 17)]
    feats = [torch.zeros(1, 1, h, w) for h, w in grids]
    anchors = gen(images, feats)[0]  # [217413, 4]: too big to store; a sample and checksums
    f["anchors/grid_sizes"] = torch.tensor(grids)
    f["anchors/cell_p2"] = gen.cell_anchors[0]
    for l, c in enumerate(gen.cell_anchors):
        f[f"anchors/cell_{l}"] = c
    f["anchors/count"] = torch.tensor([anchors.shape[0]])
    rows = torch.arange(0, anchors.shape[0], 97)
    f["anchors/sample_rows"] = rows
    f["anchors/sample"] = anchors[rows]
    # Order-sensitive checksum: sum of anchors weighted by (row % 13 + 1), in float64.
    weights = (torch.arange(anchors.shape[0]) % 13 + 1).double()
    f["anchors/checksum"] = (anchors.double() * weights[:, None]).sum(0)
    f["anchors/tail"] = anchors[-30:]

    # ---- matcher: GT vs anchors with duplicated anchors (ties) ----
    torch.manual_seed(5)
    gt = random_boxes(6, 300.0, min_size=20.0, max_size=120.0)
    anc = random_boxes(500, 300.0, min_size=10.0, max_size=150.0)
    anc[100] = anc[50]  # a tie for whatever gt anchor 50 serves best
    anc[200] = gt[2]    # IoU 1 twice: the best of gt 2 ties
    anc[201] = gt[2]
    quality = box_ops.box_iou(gt, anc)
    f["matcher/quality"] = quality
    f["matcher/rpn"] = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)(quality)
    f["matcher/roi"] = det_utils.Matcher(0.5, 0.5, allow_low_quality_matches=False)(quality)
    low = quality * 0.2  # every gt's best is low quality: only the low-quality rule matches
    f["matcher/low_quality"] = low
    f["matcher/low_rpn"] = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)(low)

    # ---- sampler: two images, drawn after a fixed seed ----
    torch.manual_seed(6)
    labels_a = torch.randint(-1, 4, (1000,))   # many positives
    labels_b = torch.randint(-1, 1, (300,))    # few positives (none >= 1): all negatives
    labels_b[:5] = 2
    f["sampler/labels_a"], f["sampler/labels_b"] = labels_a, labels_b
    for name, (bs, frac) in (("rpn", (256, 0.5)), ("roi", (512, 0.25))):
        torch.manual_seed(1234)
        pos, neg = det_utils.BalancedPositiveNegativeSampler(bs, frac)([labels_a, labels_b])
        f[f"sampler/{name}_pos_a"], f[f"sampler/{name}_neg_a"] = pos[0], neg[0]
        f[f"sampler/{name}_pos_b"], f[f"sampler/{name}_neg_b"] = pos[1], neg[1]

    # ---- roi_align: boxes inside, across the border, outside, tiny; non-square output ----
    torch.manual_seed(7)
    feat = torch.randn(2, 3, 20, 24)
    rb = random_boxes(40, 50.0, min_size=0.2, max_size=30.0) - 2.0
    rb[0] = torch.tensor([10.0, 10.0, 10.0, 10.0])     # degenerate
    rb[1] = torch.tensor([60.0, 60.0, 80.0, 90.0])     # outside the map (scale 0.5)
    rb[2] = torch.tensor([-5.0, -5.0, 49.0, 41.0])     # covers the map
    rois = torch.cat([torch.randint(0, 2, (40, 1)).float(), rb], 1)
    grad_out = torch.randn(40, 3, 5, 4)
    f["roi_align/input"], f["roi_align/rois"], f["roi_align/grad_out"] = feat, rois, grad_out
    for aligned in (False, True):
        for sr in (0, 2):
            x = feat.clone().requires_grad_(True)
            y = torchvision.ops.roi_align(x, rois, (5, 4), spatial_scale=0.5, sampling_ratio=sr, aligned=aligned)
            (y * grad_out).sum().backward()
            key = f"roi_align/a{int(aligned)}_s{sr}"
            f[key + "/out"], f[key + "/grad"] = y.detach(), x.grad
    x64 = feat.double()
    f["roi_align/out_f64_a0_s2"] = torchvision.ops.roi_align(x64, rois.double(), (5, 4), 0.5, 2, False)

    # ---- MultiScaleRoIAlign: two images 256x320 and 224x300, P2-P5 of a 256x320 batch ----
    torch.manual_seed(8)
    levels = [torch.randn(2, 2, 256 // s, 320 // s) for s in (4, 8, 16, 32)]
    x = OrderedDict((str(i), t) for i, t in enumerate(levels))
    img_shapes = [(256, 320), (224, 300)]
    boxes_a = torch.cat([random_boxes(12, 250.0, min_size=4.0, max_size=60.0),
                         random_boxes(6, 100.0, min_size=100.0, max_size=240.0),
                         torch.tensor([[0.0, 0.0, 600.0, 500.0], [10.0, 10.0, 10.5, 10.5],
                                       [0.0, 0.0, 112.0, 112.0], [0.0, 0.0, 224.0, 224.0]])])
    boxes_b = random_boxes(9, 200.0, min_size=4.0, max_size=150.0)
    for i, t in enumerate(levels):
        f[f"msroi/feat_{i}"] = t
    f["msroi/image_shapes"] = torch.tensor(img_shapes)
    f["msroi/boxes_a"], f["msroi/boxes_b"] = boxes_a, boxes_b
    pool = poolers.MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    f["msroi/out_7_s2"] = pool(x, [boxes_a, boxes_b], img_shapes)
    scales, mapper = poolers._setup_scales(levels, img_shapes, 224, 4)
    f["msroi/scales"] = torch.tensor(scales, dtype=torch.float64)
    f["msroi/levels"] = mapper([boxes_a, boxes_b])
    pool14 = poolers.MultiScaleRoIAlign(["0", "1", "2", "3"], 14, 0)
    f["msroi/out_14_s0"] = pool14(x, [boxes_a, boxes_b], img_shapes)

    # ---- paste masks: 28x28 probabilities into a 50x70 image, boxes inside and across the border ----
    torch.manual_seed(9)
    masks = torch.rand(10, 1, 28, 28)
    pb = random_boxes(10, 70.0, min_size=0.5, max_size=40.0) - 5.0
    pb = box_ops.clip_boxes_to_image(pb, (50, 70))  # as Mask R-CNN's post-processing leaves them
    pb[0] = torch.tensor([0.0, 0.0, 70.0, 50.0])
    pb[1] = torch.tensor([30.0, 20.0, 30.0, 20.0])   # empty box
    f["paste/masks"], f["paste/boxes"] = masks, pb
    f["paste/out_50x70"] = paste_masks_in_image(masks, pb, (50, 70), padding=1)

    path = os.path.join(out_dir, "torchvision_ops.pt")
    tmp = path + ".tmp"
    # Clones: a view (anchors[-30:]) would save its whole storage.
    torch.save(OrderedDict((k, v.detach().clone().contiguous()) for k, v in f.items()), tmp)
    os.replace(tmp, path)
    print(f"wrote {len(f)} tensors, {os.path.getsize(path)} bytes to {path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
