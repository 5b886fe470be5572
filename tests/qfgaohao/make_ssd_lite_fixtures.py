#!/usr/bin/env python3
"""Writes the parity fixtures of SSD-MobileNetV2-Lite against qfgaohao's pytorch-ssd
(tests/test_ssd_lite.cpp reads tests/data/qfgaohao/ssd_lite.pt).

Usage: PYTHONPATH=PYTORCH_SSD make_ssd_lite_fixtures.py OUT.pt

PYTORCH_SSD is a checkout of https://github.com/qfgaohao/pytorch-ssd (MIT; the committed fixtures
come from commit 7a839cbc8c3fb39679856b4dc42a1ab19ec07581), e.g.
    git clone https://github.com/qfgaohao/pytorch-ssd /tmp/pytorch-ssd
CI does not run this script (the reference is not a Debian package); the fixture file is committed.
It stays small because nothing but the reference's outputs is stored: the weights and the images are
formulas of torch.arange (formula_weights(), images() below; the C++ test computes the same ones
with the same LibTorch).
"""
import sys
import types
from collections import OrderedDict

import numpy as np
import torch

# The reference's transforms import OpenCV (python3-opencv, not installed here); this script skips
# them (the predictor is handed the normalised image), so an empty module stands in for cv2.
if "cv2" not in sys.modules:
    try:
        import cv2  # noqa: F401
    except ImportError:
        sys.modules["cv2"] = types.ModuleType("cv2")

from vision.nn.multibox_loss import MultiboxLoss
from vision.ssd.config import mobilenetv1_ssd_config as config
from vision.ssd.mobilenet_v2_ssd_lite import create_mobilenetv2_ssd_lite, create_mobilenetv2_ssd_lite_predictor
from vision.ssd.ssd import MatchPrior

NUM_CLASSES = 21  # background + the 20 VOC classes


def wave(n, freq, amplitude=1.0, offset=0.0):
    return offset + amplitude * torch.sin(torch.arange(n, dtype=torch.float32) * freq)


def formula_weights(state_dict):
    """Every float tensor of the state dict, by its key's place k in the sorted keys (without
    num_batches_tracked): wave(numel, 0.37 + 0.013 k) scaled to a sensible range for its kind."""
    keys = sorted(k for k in state_dict if not k.endswith("num_batches_tracked"))
    out = {}
    for k, name in enumerate(keys):
        t = state_dict[name]
        w = wave(t.numel(), 0.37 + 0.013 * k)
        if name.endswith("running_var"):
            v = 1.0 + 0.3 * w.abs()
        elif name.endswith("running_mean") or name.endswith("bias"):
            v = 0.1 * w
        elif t.dim() == 1:  # BatchNorm weight
            v = 1.0 + 0.2 * w
        else:  # convolution weight: 1 / sqrt(fan in)
            v = w * (1.0 / (t.numel() / t.shape[0]) ** 0.5)
        out[name] = v.view(t.shape)
    return out


def images():
    """Two 300x300 images, integer values 0..255 as float, and their normalised form."""
    raw = torch.round(127.5 + 127.5 * wave(2 * 3 * 300 * 300, 0.0123)).view(2, 3, 300, 300)
    return raw, (raw - 127) / 128


def main(out_path):
    torch.manual_seed(0)
    net = create_mobilenetv2_ssd_lite(NUM_CLASSES)
    test_net = create_mobilenetv2_ssd_lite(NUM_CLASSES, is_test=True)
    weights = formula_weights(net.state_dict())
    for n in (net, test_net):
        n.load_state_dict(weights, strict=False)
    raw, x = images()
    fx = OrderedDict()
    fx["num_parameters"] = torch.tensor([sum(p.numel() for p in net.parameters())])
    fx["num_state_tensors"] = torch.tensor([len(net.state_dict())])
    keys = "\n".join(sorted(net.state_dict()))
    fx["state_keys"] = torch.tensor(list(keys.encode()), dtype=torch.uint8)  # sorted, one a line

    with torch.no_grad():
        net.eval()
        logits, locations = net(x)
        fx["eval/logits0"] = logits[0].clone()
        fx["eval/locations0"] = locations[0].clone()
        fx["eval/logits1_sum"] = logits[1].sum(0)
        fx["eval/locations1_sum"] = locations[1].sum(0)

        # The Predictor on each image, its cv2 resize and normalisation skipped: handed x directly,
        # for an original image of 375 x 500.
        test_net.device = torch.device("cpu")
        test_net.priors = config.priors
        predictor = create_mobilenetv2_ssd_lite_predictor(test_net, candidate_size=200, device=torch.device("cpu"))
        for i in range(2):
            predictor.transform = lambda image, i=i: x[i]
            boxes, labels, probs = predictor.predict(np.zeros((375, 500, 3), np.uint8), -1, 0.01)
            fx["predict%d/boxes" % i] = boxes
            fx["predict%d/labels" % i] = labels
            fx["predict%d/scores" % i] = probs

    # One training forward on the two images (BatchNorm on batch statistics) and the MultiBox loss
    # with MatchPrior's targets; ground truth in pixels of the 300 x 300 input.
    match = MatchPrior(config.priors, config.center_variance, config.size_variance, 0.5)
    gt = [(torch.tensor([[30., 36., 156., 180.], [120., 135., 144., 156.], [15., 210., 285., 234.]]),
           torch.tensor([3, 1, 20])),
          (torch.tensor([[90., 90., 150., 150.], [93., 90., 150., 153.]]), torch.tensor([2, 5]))]
    gt_locations, gt_labels = zip(*[match(b / 300, l) for b, l in gt])
    net.train()
    logits, locations = net(x)
    criterion = MultiboxLoss(config.priors, iou_threshold=0.5, neg_pos_ratio=3, center_variance=0.1,
                             size_variance=0.2, device=torch.device("cpu"))
    regression, classification = criterion(logits, locations, torch.stack(gt_labels), torch.stack(gt_locations))
    (regression + classification).backward()
    fx["train/regression"] = regression.detach().reshape(1)
    fx["train/classification"] = classification.detach().reshape(1)
    fx["train/grad/base_net.0.0.weight"] = net.base_net[0][0].weight.grad.clone()
    fx["train/grad/classification_headers.0.3.weight"] = net.classification_headers[0][3].weight.grad.clone()
    fx["train/grad/regression_headers.0.3.bias"] = net.regression_headers[0][3].bias.grad.clone()
    fx["train/base_net.0.1.running_mean"] = net.base_net[0][1].running_mean.clone()
    torch.save(fx, out_path)
    print("wrote %s: %d parameters, %d state tensors; detections %d and %d; loss %.6f + %.6f" %
          (out_path, int(fx["num_parameters"]), int(fx["num_state_tensors"]), fx["predict0/scores"].numel(),
           fx["predict1/scores"].numel(), float(regression), float(classification)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
