#!/usr/bin/python3
"""The reference side of bench_ssd_lite: qfgaohao's pytorch-ssd SSD-MobileNetV2-Lite (21 VOC outputs)
under Debian's python3-torch. Not a run-time dependency, and not a Debian package: pass a checkout of
https://github.com/qfgaohao/pytorch-ssd (MIT) as PYTORCH_SSD.

Usage: ssd_lite_reference.py OUT_DIR THREADS REPS BATCH PYTORCH_SSD
Writes OUT_DIR/weights.pth (the net's state dict, its own initialisation from seed 0) and
OUT_DIR/inputs.pth (BATCH 300x300 images with values 0..255 and 3 boxes each), then times, REPS times
after one warm-up:
  infer1:  the Predictor on one image (network, softmax, decode, per-class hard NMS, scaling);
  infer8:  the Predictor on 8 images, one after the other (the Predictor takes one image);
  train:   MatchPrior on each image's boxes, the network in train mode on the batch, MultiboxLoss,
           backward and an SGD step (lr 0.01, momentum 0.9, weight decay 5e-4);
and prints "RESULT infer1_median=S infer8_median=S train_median=S detections=N".
The Predictor's cv2 resize is skipped (the images are 300x300 already; cv2 is stubbed when absent).
"""
import os
import statistics
import sys
import time
import types

import numpy as np
import torch


def main(out_dir, threads, reps, batch, ref_dir):
    sys.path.insert(0, ref_dir)
    try:
        import cv2  # noqa: F401
    except ImportError:
        sys.modules["cv2"] = types.ModuleType("cv2")
    from vision.nn.multibox_loss import MultiboxLoss
    from vision.ssd.config import mobilenetv1_ssd_config as config
    from vision.ssd.mobilenet_v2_ssd_lite import create_mobilenetv2_ssd_lite, create_mobilenetv2_ssd_lite_predictor
    from vision.ssd.ssd import MatchPrior

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = create_mobilenetv2_ssd_lite(21)
    test_net = create_mobilenetv2_ssd_lite(21, is_test=True)
    test_net.load_state_dict(net.state_dict())
    test_net.device = torch.device("cpu")
    test_net.priors = config.priors
    os.makedirs(out_dir, exist_ok=True)
    torch.save(dict(net.state_dict()), os.path.join(out_dir, "weights.pth"))

    g = torch.Generator().manual_seed(1)
    raw = torch.randint(0, 256, (batch, 3, 300, 300), generator=g).float()
    x = (raw - 127) / 128
    inputs = {"images": raw}
    gts = []
    for i in range(batch):
        xy = torch.rand(3, 2, generator=g) * 200
        wh = 20 + torch.rand(3, 2, generator=g) * 80
        boxes = torch.cat([xy, xy + wh], 1)
        labels = torch.randint(1, 21, (3,), generator=g)
        inputs["boxes%d" % i], inputs["labels%d" % i] = boxes, labels
        gts.append((boxes, labels))
    torch.save(inputs, os.path.join(out_dir, "inputs.pth"))

    predictor = create_mobilenetv2_ssd_lite_predictor(test_net, candidate_size=200, device=torch.device("cpu"))
    predictor.timer.end = lambda *a: 0.0  # its per-call print of the inference time
    blank = np.zeros((300, 300, 3), np.uint8)
    detections = [0]

    def predict(n):
        for i in range(n):
            predictor.transform = lambda image, i=i: x[i]
            boxes, labels, probs = predictor.predict(blank, -1, 0.01)
            if i == 0:
                detections[0] = probs.numel()

    match = MatchPrior(config.priors, config.center_variance, config.size_variance, 0.5)
    criterion = MultiboxLoss(config.priors, iou_threshold=0.5, neg_pos_ratio=3, center_variance=0.1,
                             size_variance=0.2, device=torch.device("cpu"))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    net.train()

    def train():
        locations, labels = zip(*[match(b / 300, l) for b, l in gts])
        confidence, predicted = net(x)
        regression, classification = criterion(confidence, predicted, torch.stack(labels), torch.stack(locations))
        optimizer.zero_grad()
        (regression + classification).backward()
        optimizer.step()

    def timed(fn):
        fn()
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out

    import builtins
    quiet_print = builtins.print
    builtins.print = lambda *a, **k: None  # the Predictor prints a line a call
    try:
        infer1 = timed(lambda: predict(1))
        infer8 = timed(lambda: predict(8))
    finally:
        builtins.print = quiet_print
    train_times = timed(train)
    print("pytorch-ssd (torch %s), %d threads, batch %d" % (torch.__version__, threads, batch))
    print("reference predict 1 image s: %s" % " ".join("%.3f" % t for t in infer1))
    print("reference predict 8 images s: %s" % " ".join("%.3f" % t for t in infer8))
    print("reference train step s: %s" % " ".join("%.3f" % t for t in train_times))
    print("RESULT infer1_median=%.6f infer8_median=%.6f train_median=%.6f detections=%d" %
          (statistics.median(infer1), statistics.median(infer8), statistics.median(train_times), detections[0]))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
