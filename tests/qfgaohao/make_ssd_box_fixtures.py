#!/usr/bin/env python3
"""Writes the parity fixtures of SSD's box arithmetic against qfgaohao's pytorch-ssd
(tests/test_ssd_box_utils.cpp reads them from tests/data/qfgaohao/ssd_box_utils.pt).

Usage: PYTHONPATH=PYTORCH_SSD make_ssd_box_fixtures.py OUT.pt

PYTORCH_SSD is a checkout of https://github.com/qfgaohao/pytorch-ssd (MIT; the fixtures in the repo
were written from commit 7a839cbc8c3fb39679856b4dc42a1ab19ec07581), e.g.
    git clone https://github.com/qfgaohao/pytorch-ssd /tmp/pytorch-ssd
It runs unmodified under Debian's python3-torch (1.13). CI does not run this script (the reference
is not a Debian package): the fixture file is committed, and small, because every input is a formula
of torch.arange that the C++ test computes the same way with the same LibTorch; only the reference's
outputs are stored.
"""
import sys
from collections import OrderedDict

import torch

from vision.nn.multibox_loss import MultiboxLoss
from vision.ssd.config import mobilenetv1_ssd_config as config
from vision.ssd.ssd import MatchPrior
from vision.utils import box_utils


def wave(n, freq, amplitude=1.0, offset=0.0):
    """float32 [n]: offset + amplitude * sin(freq * arange(n)) (the C++ test's wave())."""
    return offset + amplitude * torch.sin(torch.arange(n, dtype=torch.float32) * freq)


def gt_boxes():
    """Corner boxes relative to the image: big, small, thin, overlapping, one at the border."""
    return torch.tensor([[0.10, 0.12, 0.52, 0.60], [0.40, 0.45, 0.48, 0.52], [0.05, 0.70, 0.95, 0.78],
                         [0.45, 0.10, 0.98, 0.55], [0.00, 0.00, 0.30, 0.25]], dtype=torch.float32)


def main(out_path):
    torch.set_grad_enabled(False)
    fx = OrderedDict()
    priors = config.priors  # generate_ssd_priors(specs, 300) with clamping
    fx["priors"] = priors.clone()
    fx["priors_unclamped"] = box_utils.generate_ssd_priors(config.specs, config.image_size, clamp=False)

    # Coder round trip on formula locations.
    loc = torch.stack([wave(3000, 0.37), wave(3000, 0.11, 0.8), wave(3000, 0.23, 0.5), wave(3000, 0.05, 0.7)], 1)
    fx["decode"] = box_utils.convert_locations_to_boxes(loc.unsqueeze(0), priors, 0.1, 0.2)[0]
    fx["encode"] = box_utils.convert_boxes_to_locations(fx["decode"], priors, 0.1, 0.2)

    # Matching (MatchPrior of train_ssd.py: threshold 0.5).
    boxes, labels = gt_boxes(), torch.tensor([3, 1, 7, 3, 20])
    match = MatchPrior(priors, config.center_variance, config.size_variance, 0.5)
    locations, prior_labels = match(boxes, labels)
    fx["match/locations"] = locations
    fx["match/labels"] = prior_labels
    # A second image: two boxes sharing one best prior (the later one wins it).
    boxes2 = torch.tensor([[0.30, 0.30, 0.50, 0.50], [0.31, 0.30, 0.50, 0.51]])
    locations2, labels2 = match(boxes2, torch.tensor([2, 5]))
    fx["match2/locations"] = locations2
    fx["match2/labels"] = labels2

    # MultiBox loss on a batch of the two images, formula logits of 21 classes.
    confidence = wave(2 * 3000 * 21, 0.013, 3.0).view(2, 3000, 21)
    predicted = wave(2 * 3000 * 4, 0.029, 1.5).view(2, 3000, 4)
    all_labels = torch.stack([prior_labels, labels2])
    gt_locations = torch.stack([locations, locations2])
    criterion = MultiboxLoss(priors, iou_threshold=0.5, neg_pos_ratio=3, center_variance=0.1, size_variance=0.2,
                             device=torch.device("cpu"))
    regression, classification = criterion(confidence, predicted, all_labels, gt_locations)
    fx["loss/regression"] = regression.reshape(1)
    fx["loss/classification"] = classification.reshape(1)
    background = -torch.log_softmax(confidence, dim=2)[:, :, 0]
    fx["loss/mask"] = box_utils.hard_negative_mining(background.clone(), all_labels, 3).to(torch.uint8)

    # Hard NMS on 300 formula boxes (corner form), threshold 0.45, candidates 200; and top_k 5.
    cx, cy = wave(300, 0.7, 0.3, 0.5), wave(300, 1.3, 0.3, 0.5)
    w, h = wave(300, 0.9, 0.08, 0.15), wave(300, 0.4, 0.08, 0.15)
    nms_boxes = torch.stack([cx - w, cy - h, cx + w, cy + h], 1)
    nms_scores = wave(300, 2.1, 0.5, 0.5)
    kept = box_utils.hard_nms(torch.cat([nms_boxes, nms_scores.unsqueeze(1)], 1), 0.45, -1, 200)
    kept5 = box_utils.hard_nms(torch.cat([nms_boxes, nms_scores.unsqueeze(1)], 1), 0.45, 5, 200)
    fx["nms/kept"] = kept
    fx["nms/kept_top5"] = kept5
    torch.save(fx, out_path)
    print("wrote %s: %d tensors; %d positives in image 1, %d in image 2; loss %.6f + %.6f; %d kept by NMS" %
          (out_path, len(fx), int((prior_labels > 0).sum()), int((labels2 > 0).sum()), float(regression),
           float(classification), kept.size(0)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
