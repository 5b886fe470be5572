#!/usr/bin/python3
"""The torchvision side of bench_mask_rcnn (which runs this script, then the same work in the
studio, and prints both with their ratios). Not a run-time dependency: Debian's python3-torch 1.13
and python3-torchvision 0.14, run as /usr/bin/python3.

Usage: mask_rcnn_torchvision.py OUT_DIR THREADS REPS
Writes OUT_DIR/weights.pth (the model's state dict) and OUT_DIR/inputs.pth (two 800x1333 uint8
images and their ground truth), then times
  inference: model([image0]) in eval mode under no_grad (transform, backbone, RPN, heads, the
             masks pasted at the image size), REPS times after one warm-up;
  training:  one SGD step on [image0, image1] (loss, backward, step), REPS times after one warm-up;
and prints one line "RESULT infer_median=S train_median=S detections=N" after the human lines.

The model is maskrcnn_resnet50_fpn at torchvision's defaults (800/1333, 1000 RPN proposals at test
time, 2000 in training, 512 RoIs per image, score 0.05, 100 detections) built as for its COCO
weights (FrozenBatchNorm2d, eps 0, trainable_backbone_layers 3). The weights are the parity
fixtures' realistic random ones (tests/torchvision/make_maskrcnn_fixtures.py), so that detections
pass the score threshold and the mask head runs on them as with trained weights.
"""
import os
import statistics
import sys
import time
from collections import OrderedDict

import torch
import torchvision
from torchvision.models import resnet50
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection._utils import overwrite_eps
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "torchvision"))
import make_maskrcnn_fixtures as fixtures  # noqa: E402  (the realistic weights and images)

HEIGHT, WIDTH = 800, 1333
IMAGE_SEEDS = [202, 309]
OBJECTS = 4


def blas_library():
    """The BLAS library this process loaded (the target of libblas.so.3, or OpenBLAS itself)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                return os.path.realpath(path)
    return "none loaded"


def timed(fn, reps):
    fn()  # warm-up: first-call allocations and oneDNN primitive creation
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main(out_dir, threads, reps):
    torch.set_num_threads(threads)
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3)
    model = MaskRCNN(backbone, num_classes=91)
    overwrite_eps(model, 0.0)
    g = torch.Generator().manual_seed(1)
    fixtures.calibrate_backbone(model, g)
    fixtures.init_heads(model, g)
    torch.save(model.state_dict(), os.path.join(out_dir, "weights.pth"))

    inputs = OrderedDict()
    images, targets = [], []
    for i, seed in enumerate(IMAGE_SEEDS):
        img, objects = fixtures.make_image(HEIGHT, WIDTH, seed, OBJECTS)
        inputs[f"image{i}"] = img
        inputs[f"boxes{i}"] = torch.stack([b for b, _ in objects])
        inputs[f"labels{i}"] = torch.tensor([1 + 7 * k for k in range(len(objects))], dtype=torch.int64)
        inputs[f"masks{i}"] = torch.stack([m for _, m in objects]).to(torch.uint8)
        images.append(fixtures.to_model_input(img))
        targets.append({"boxes": inputs[f"boxes{i}"], "labels": inputs[f"labels{i}"],
                        "masks": inputs[f"masks{i}"]})
    torch.save(inputs, os.path.join(out_dir, "inputs.pth"))

    model.eval()
    detections = []

    def infer():
        with torch.no_grad():
            detections[:] = [len(model([images[0]])[0]["scores"])]

    infer_times = timed(infer, reps)

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.0025, momentum=0.9, weight_decay=1e-4)

    def train_step():
        losses = model(images, targets)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

    train_times = timed(train_step, reps)
    print(f"torchvision {torchvision.__version__} (torch {torch.__version__}), {threads} threads, "
          f"BLAS {blas_library()}")
    print("torchvision inference s: " + " ".join(f"{t:.3f}" for t in infer_times))
    print("torchvision train step s: " + " ".join(f"{t:.3f}" for t in train_times))
    print(f"RESULT infer_median={statistics.median(infer_times):.6f} "
          f"train_median={statistics.median(train_times):.6f} detections={detections[0]}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
