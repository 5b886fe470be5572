#!/usr/bin/env python3
"""Writes a torchvision-named state dict in torch.save's zip layout (make_fixtures.py's stand-ins,
stdlib only) for the CLI test: every key and shape of tests/data/torchvision_keys/ARCH.txt, values
0.01 * (index of the key + 1), BN counters int64. (mb2_ssd_lite.txt is qfgaohao's pytorch-ssd
SSD-MobileNetV2-Lite, written from its create_mobilenetv2_ssd_lite(21).state_dict().)

  make_state.py ARCH OUT.pth [--drop KEY]... [--extra KEY]... [--prefix module.]
"""
import argparse, collections, io, os, pickle, struct, sys, zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (installs the torch stand-ins)

class RawStorage(mf.Storage):
    def __init__(self, cls, raw, numel):
        super().__init__(cls, 'f', [])
        self._raw, self.numel = raw, numel
    def raw(self):
        return self._raw

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('arch')
    ap.add_argument('out')
    ap.add_argument('--drop', action='append', default=[])
    ap.add_argument('--extra', action='append', default=[])
    ap.add_argument('--prefix', default='', help='put before every key (DataParallel saves under "module.")')
    a = ap.parse_args()
    keys_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'torchvision_keys', a.arch + '.txt')
    entries = [(l.split()[0], [int(d) for d in l.split()[1:]]) for l in open(keys_file)]
    entries = [e for e in entries if e[0] not in a.drop] + [(k, [1]) for k in a.extra]
    sd = collections.OrderedDict()
    for i, (name, shape) in enumerate(entries):
        n = 1
        for d in shape:
            n *= d
        if name.endswith('num_batches_tracked'):
            s = RawStorage(mf.LongStorage, struct.pack('<q', 0), 1)
        else:
            s = RawStorage(mf.FloatStorage, struct.pack('<f', 0.01 * (i + 1)) * n, n)
        stride, acc = [], 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
        sd[a.prefix + name] = mf.Tensor(s, 0, shape, stride)
    storages = collections.OrderedDict()
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, mf.Storage):
                if obj.key is None:
                    obj.key = str(len(storages))
                    storages[obj.key] = obj
                return ('storage', obj.cls, obj.key, 'cpu', obj.numel)
            return None
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(sd)
    with zipfile.ZipFile(a.out, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', buf.getvalue())
        for key, s in storages.items():
            z.writestr('archive/data/' + key, s.raw())
        z.writestr('archive/version', '3\n')

if __name__ == '__main__':
    main()
