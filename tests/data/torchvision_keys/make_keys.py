#!/usr/bin/env python3
"""Writes torchvision's state_dict key lists (name and shape per line) for the backbones the
studio imports: resnet18/34/50/101 and mobilenet_v2, from the architecture definitions in
torchvision/models/resnet.py and mobilenetv2.py (stdlib only, no torch needed).

The order is state_dict()'s: per module its parameters, then its buffers, then its children in
registration order. BatchNorm2d has weight, bias, running_mean, running_var and the 0-dim
num_batches_tracked (a scalar: the name alone on its line).

Run: python3 make_keys.py   (writes the .txt files next to this script)
"""
import os

def bn(prefix, c):
    return [(prefix + '.weight', [c]), (prefix + '.bias', [c]), (prefix + '.running_mean', [c]),
            (prefix + '.running_var', [c]), (prefix + '.num_batches_tracked', [])]

def conv(prefix, out, inp, k):
    return [(prefix + '.weight', [out, inp, k, k])]

def resnet(blocks, bottleneck):
    keys = conv('conv1', 64, 3, 7) + bn('bn1', 64)
    expansion = 4 if bottleneck else 1
    inplanes = 64
    for s, n in enumerate(blocks):
        planes = 64 * 2 ** s
        for b in range(n):
            p = 'layer%d.%d' % (s + 1, b)
            stride = 2 if (b == 0 and s > 0) else 1
            if bottleneck:
                keys += conv(p + '.conv1', planes, inplanes, 1) + bn(p + '.bn1', planes)
                keys += conv(p + '.conv2', planes, planes, 3) + bn(p + '.bn2', planes)
                keys += conv(p + '.conv3', planes * 4, planes, 1) + bn(p + '.bn3', planes * 4)
            else:
                keys += conv(p + '.conv1', planes, inplanes, 3) + bn(p + '.bn1', planes)
                keys += conv(p + '.conv2', planes, planes, 3) + bn(p + '.bn2', planes)
            if b == 0 and (stride != 1 or inplanes != planes * expansion):
                keys += conv(p + '.downsample.0', planes * expansion, inplanes, 1)
                keys += bn(p + '.downsample.1', planes * expansion)
            inplanes = planes * expansion
    keys += [('fc.weight', [1000, 512 * expansion]), ('fc.bias', [1000])]
    return keys

def mobilenet_v2():
    def conv_bn(p, out, inp, k, groups=1):
        return [(p + '.0.weight', [out, inp // groups, k, k])] + bn(p + '.1', out)
    keys = conv_bn('features.0', 32, 3, 3)
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    inp, idx = 32, 1
    for t, c, n, s in settings:
        for i in range(n):
            p = 'features.%d.conv' % idx
            hidden = inp * t
            m = 0
            if t != 1:
                keys += conv_bn('%s.%d' % (p, m), hidden, inp, 1)
                m += 1
            keys += conv_bn('%s.%d' % (p, m), hidden, hidden, 3, groups=hidden)
            keys += [('%s.%d.weight' % (p, m + 1), [c, hidden, 1, 1])] + bn('%s.%d' % (p, m + 2), c)
            inp, idx = c, idx + 1
    keys += conv_bn('features.%d' % idx, 1280, inp, 1)
    keys += [('classifier.1.weight', [1000, 1280]), ('classifier.1.bias', [1000])]
    return keys

ARCHS = {
    'resnet18': lambda: resnet([2, 2, 2, 2], False),
    'resnet34': lambda: resnet([3, 4, 6, 3], False),
    'resnet50': lambda: resnet([3, 4, 6, 3], True),
    'resnet101': lambda: resnet([3, 4, 23, 3], True),
    'mobilenet_v2': mobilenet_v2,
}

if __name__ == '__main__':
    here = os.path.dirname(os.path.abspath(__file__))
    for name, make in ARCHS.items():
        with open(os.path.join(here, name + '.txt'), 'w') as f:
            for key, shape in make():
                f.write(' '.join([key] + [str(d) for d in shape]) + '\n')
