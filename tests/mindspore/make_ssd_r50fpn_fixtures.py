#!/usr/bin/python3
"""Writes the parity fixtures of SSD-ResNet50-FPN's box arithmetic against MindSpore's own code
(tests/test_ssd_resnet50_fpn.cpp reads tests/data/mindspore/ssd_r50fpn.pt).

Usage: make_ssd_r50fpn_fixtures.py MS_SSD OUT.pt

MS_SSD is official/cv/SSD of https://github.com/mindspore-ai/models (Apache-2.0; the fixture in the
repo was written from commit eab643f51336), e.g.
    git clone https://github.com/mindspore-ai/models /tmp/ms-models   # MS_SSD=/tmp/ms-models/official/cv/SSD
MindSpore itself is not needed: src/anchor_generator.py and src/box_utils.py are numpy; box_utils
imports the recipe through src.model_utils.config, which this script replaces by the values of
config/ssd_resnet50_fpn_config.yaml it reads. eval_utils.apply_nms (numpy too) is taken out of its
file, whose other imports need MindSpore and pycocotools. The focal loss is compared with
torchvision.ops.sigmoid_focal_loss (Debian's python3-torchvision). CI does not run this script (the
reference is not a Debian package): the fixture is committed; inputs are formulas the C++ test
recomputes (wave(), as in tests/qfgaohao).
"""
import ast
import sys
import types
from collections import OrderedDict

import numpy as np
import torch
import torchvision


def wave(n, freq, amplitude=1.0, offset=0.0):
    """float32 [n]: offset + amplitude * sin(freq * arange(n)) (the C++ test's wave())."""
    return offset + amplitude * torch.sin(torch.arange(n, dtype=torch.float32) * freq)


def gt_boxes_yxyx():
    """(y1, x1, y2, x2) relative: big, small, thin, overlapping, at the border, one sharing a best anchor."""
    return np.array([[0.10, 0.12, 0.52, 0.60, 3], [0.40, 0.45, 0.48, 0.52, 1], [0.05, 0.70, 0.95, 0.78, 7],
                     [0.45, 0.10, 0.98, 0.55, 3], [0.00, 0.00, 0.30, 0.25, 80], [0.401, 0.45, 0.48, 0.521, 5],
                     [0.20, 0.20, 0.23, 0.215, 2]], dtype=np.float32)


def load_config_stub(ms_ssd):
    import yaml
    with open(f"{ms_ssd}/config/ssd_resnet50_fpn_config.yaml") as f:
        values = next(yaml.safe_load_all(f))  # the first document holds the values, the rest their help
    values["num_ssd_boxes"] = 51150  # train.py sets it for ssd_resnet50_fpn
    config = types.SimpleNamespace(**values)
    for name in ["src", "src.model_utils"]:
        module = types.ModuleType(name)
        module.__path__ = [f"{ms_ssd}/{name.replace('.', '/')}"]
        sys.modules[name] = module
    stub = types.ModuleType("src.model_utils.config")
    stub.config = config
    sys.modules["src.model_utils.config"] = stub
    return config


def load_apply_nms(ms_ssd):
    with open(f"{ms_ssd}/src/eval_utils.py") as f:
        tree = ast.parse(f.read())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "apply_nms")
    scope = {"np": np}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "eval_utils.apply_nms", "exec"), scope)
    return scope["apply_nms"]


def main(ms_ssd, out_path):
    sys.path.insert(0, ms_ssd)
    config = load_config_stub(ms_ssd)
    import importlib
    box_utils = importlib.import_module("src.box_utils")  # builds the anchors with GridAnchorGenerator
    torch.set_grad_enabled(False)
    fx = OrderedDict()
    fx["anchors/yxhw"] = torch.from_numpy(np.ascontiguousarray(box_utils.default_boxes))
    fx["anchors/yxyx"] = torch.from_numpy(np.ascontiguousarray(box_utils.default_boxes_tlbr))

    # Matching and encoding (ssd_bboxes_encode) of the formula boxes; only the matched rows are kept.
    boxes, labels, num_match = box_utils.ssd_bboxes_encode(gt_boxes_yxyx())
    matched = np.nonzero(labels)[0]
    fx["encode/index"] = torch.from_numpy(matched.astype(np.int64))
    fx["encode/labels"] = torch.from_numpy(labels[matched].astype(np.int64))
    fx["encode/locations"] = torch.from_numpy(boxes[matched])
    fx["encode/num_match"] = torch.tensor([int(num_match[0])])

    # Decoding (ssd_bboxes_decode) of formula offsets; every 7th row kept.
    n = config.num_ssd_boxes
    loc = torch.stack([wave(n, 0.37), wave(n, 0.11, 0.8), wave(n, 0.23, 0.5), wave(n, 0.05, 0.7)], 1).numpy()
    fx["decode/yxyx"] = torch.from_numpy(box_utils.ssd_bboxes_decode(loc)[::7].copy())

    # Sigmoid focal loss (reduction none) on formula logits against a one-hot of 81 columns.
    logits = wave(2 * 300 * 81, 0.013, 4.0).view(2, 300, 81)
    target_labels = (torch.arange(600).view(2, 300) * 7) % 81
    target_labels[:, ::3] = 0
    one_hot = torch.nn.functional.one_hot(target_labels, 81).float()
    fx["focal/loss"] = torchvision.ops.sigmoid_focal_loss(logits, one_hot, alpha=0.25, gamma=2.0, reduction="none")

    # apply_nms on 300 formula boxes in pixels (y1, x1, y2, x2), threshold 0.6, max 100 and 5.
    apply_nms = load_apply_nms(ms_ssd)
    cy, cx = wave(300, 0.7, 150, 320), wave(300, 1.3, 150, 320)
    h, w = wave(300, 0.9, 30, 60), wave(300, 0.4, 30, 60)
    nms_boxes = torch.stack([cy - h, cx - w, cy + h, cx + w], 1).numpy()
    nms_scores = wave(300, 2.1, 0.5, 0.5).numpy()
    fx["nms/keep100"] = torch.tensor(apply_nms(nms_boxes, nms_scores, 0.6, 100), dtype=torch.int64)
    fx["nms/keep5"] = torch.tensor(apply_nms(nms_boxes, nms_scores, 0.6, 5), dtype=torch.int64)
    torch.save(dict(fx), out_path)
    print(f"wrote {out_path}: {len(fx)} tensors; {len(matched)} anchors matched, "
          f"{len(fx['nms/keep100'])} kept by NMS")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
