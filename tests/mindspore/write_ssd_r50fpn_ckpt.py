#!/usr/bin/env python3
"""Writes MindSpore checkpoints of ssd_resnet50_fpn (official/cv/SSD of mindspore-ai/models) with the
reference's parameter names and shapes and formula values, for tests/test_ssd_resnet_fpn_import.cpp
and tests/cli_test.sh. No MindSpore needed: write_ms_checkpoint.py encodes the protobuf by hand.

The names are those of the reference's cells (src/resnet.py, src/fpn.py, src/mobilenet_v1.py
conv_bn_relu, src/ssd.py WeightSharedMultiBox with loc_cls_shared_addition false): ResNet-50
(blocks 3, 4, 6, 3; bottleneck widths 64..512, outputs 256..2048; the stride on the 3x3 conv; a
1x1 + BN shortcut on each stage's first block), FPN 256 channels (1x1 laterals with bias on C3..C5,
3x3 conv-BN per level), 2 bottom-up 3x3 conv-BN, towers of 4 3x3 convs with bias shared by the 5
levels (MindSpore names a shared parameter once, after level 0's path) with a BN per level, and
the 3x3 heads for 6 anchors.

Values: the k-th tensor in sorted name order (names without "network.") holds
    (arange(n) % 97) * 1e-3 + k * 1e-2   (float32, in its shape, row-major);
moving_variance adds 0.5 (positive). The optimizer's moments.network.<name> holds the same formula
negated. The test recomputes these.

Usage: write_ssd_r50fpn_ckpt.py OUT_DIR [FILE ...]
  FILE: which to write (default all): ssd_r50fpn_train.ckpt (81 classes, every name under
  "network.", the optimizer state, the largest tensor split into parts as MindSpore does),
  ssd_r50fpn_infer.ckpt (3 classes + background, no prefix, no optimizer state),
  other_model.ckpt (a few tensors of another model).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from write_ms_checkpoint import write_checkpoint  # noqa: E402

BN = ("gamma", "beta", "moving_mean", "moving_variance")
SPLIT_BYTES = 4 * 1024 * 1024  # only the largest tensors (layer4's 3x3 convs: 9.4 MB) are split


def parameter_shapes(num_classes, anchors=6, channels=256, tower_convs=4, levels=5):
    """[(name, shape)] of ssd_resnet50_fpn's parameters (num_classes with background)."""
    out = []

    def conv(name, o, i, k, bias=False):
        out.append((name + ".weight", (o, i, k, k)))
        if bias:
            out.append((name + ".bias", (o,)))

    def bn(name, c):
        out.extend((name + "." + p, (c,)) for p in BN)

    r = "feature_extractor.resnet"
    conv(r + ".conv1", 64, 3, 7)
    bn(r + ".bn1", 64)
    in_ch = 64
    for stage, blocks in enumerate((3, 4, 6, 3)):
        mid, out_ch = 64 << stage, 256 << stage
        for b in range(blocks):
            p = "%s.layer%d.%d" % (r, stage + 1, b)
            conv(p + ".conv1", mid, in_ch, 1)
            bn(p + ".bn1", mid)
            conv(p + ".conv2", mid, mid, 3)
            bn(p + ".bn2", mid)
            conv(p + ".conv3", out_ch, mid, 1)
            bn(p + ".bn3", out_ch)
            if b == 0:
                conv(p + ".down_sample_layer.0", out_ch, in_ch, 1)
                bn(p + ".down_sample_layer.1", out_ch)
            in_ch = out_ch
    f = "feature_extractor.fpn"
    for i, c in enumerate((512, 1024, 2048)):
        conv("%s.lateral_convs_list.%d" % (f, i), channels, c, 1, bias=True)
        conv("%s.fpn_convs_list.%d.0" % (f, i), channels, channels, 3)
        bn("%s.fpn_convs_list.%d.1" % (f, i), channels)
    for i in range(2):
        conv("feature_extractor.bottom_up.blocks.%d.0" % i, channels, channels, 3)
        bn("feature_extractor.bottom_up.blocks.%d.1" % i, channels)
    for tower in ("loc", "cls"):
        for level in range(levels):
            for k in range(tower_convs):
                p = "multi_box.addition_layer_%s.%d.%d.features" % (tower, level, k)
                if level == 0:
                    conv(p + ".0", channels, channels, 3, bias=True)
                bn(p + ".1", channels)
    conv("multi_box.loc_layers.0", anchors * 4, channels, 3, bias=True)
    conv("multi_box.cls_layers.0", anchors * num_classes, channels, 3, bias=True)
    return out


def formula(shape, k, name):
    n = int(np.prod(shape))
    v = (np.arange(n, dtype=np.int64) % 97).astype(np.float32) * np.float32(1e-3) + np.float32(k * 1e-2)
    if name.endswith("moving_variance"):
        v += np.float32(0.5)
    return v.reshape(shape)


def model_entries(num_classes):
    """[(name, array)] in sorted name order, the k-th with formula(k)."""
    shapes = sorted(parameter_shapes(num_classes))
    return [(name, formula(shape, k, name)) for k, (name, shape) in enumerate(shapes)]


def is_trainable(name):
    return not (name.endswith("moving_mean") or name.endswith("moving_variance"))


def train_entries():
    params = model_entries(81)
    out = [("network." + name, a) for name, a in params]
    out += [("moments.network." + name, -a) for name, a in params if is_trainable(name)]
    out += [
        ("learning_rate", np.array([0.05], dtype=np.float32)),
        ("global_step", np.array([1234], dtype=np.int32)),
        ("momentum", np.array(0.9, dtype=np.float32)),
    ]
    return out


def other_entries():
    a = np.arange
    return [
        ("network.backbone.conv1.weight", (a(64 * 3 * 9, dtype=np.float32) * 1e-3).reshape(64, 3, 3, 3)),
        ("network.backbone.bn1.gamma", np.ones(64, dtype=np.float32)),
        ("network.backbone.layer1.0.conv1.weight", (a(64 * 64, dtype=np.float32) * 1e-4).reshape(64, 64, 1, 1)),
        ("network.head.fc.weight", (a(10 * 64, dtype=np.float32) * 1e-3).reshape(10, 64)),
    ]


FILES = {
    "ssd_r50fpn_train.ckpt": lambda path: write_checkpoint(path, train_entries(), split_bytes=SPLIT_BYTES),
    "ssd_r50fpn_infer.ckpt": lambda path: write_checkpoint(path, model_entries(4)),
    "other_model.ckpt": lambda path: write_checkpoint(path, other_entries()),
}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: write_ssd_r50fpn_ckpt.py OUT_DIR [FILE ...]")
    out_dir = sys.argv[1]
    names = sys.argv[2:] or list(FILES)
    for name in names:
        if name not in FILES:
            sys.exit("unknown file %s (expected %s)" % (name, ", ".join(FILES)))
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        path = os.path.join(out_dir, name)
        FILES[name](path)
        print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
