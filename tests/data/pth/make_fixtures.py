#!/usr/bin/env python3
"""Writes small .pth files byte-compatible with what torch.save writes, without torch: the same
pickle machinery torch/serialization.py uses (a protocol-2 Pickler with persistent_id,
collections.OrderedDict with a _metadata attribute, torch._utils._rebuild_tensor_v2 reduced
from each tensor), with stand-ins for the torch names so Python's pickle writes the same opcodes.

  state_zip.pth     the zip format (torch >= 1.6): archive/data.pkl, archive/byteorder,
                    archive/data/<key>, archive/version, as torch.save(sd, f) lays them out
  state_legacy.pth  the legacy format (torch < 1.6, _use_new_zipfile_serialization=False;
                    torchvision's resnet50-19c8e357.pth): magic, protocol, sys_info pickles,
                    the state dict pickle, the storage keys, then each storage as int64 count +
                    raw bytes; tensors via the old torch._utils._rebuild_tensor

Contents (tests/test_weights_import.cpp checks these values):
  conv.weight          float32 [2, 3]   = 0.5 * arange(6)
  bn.num_batches_tracked int64 []       = 7
  view                 float32 [2]      = elements 1 and 3 of conv.weight's storage (offset 1, stride 2)
  double               float64 [3]      = [1.5, -2.25, 1e10]
Run: python3 make_fixtures.py
"""
import collections, io, os, pickle, struct, sys, types, zipfile

# Stand-ins so that pickle writes GLOBAL 'torch FloatStorage' and 'torch._utils _rebuild_tensor_v2'.
torch = types.ModuleType('torch')
utils = types.ModuleType('torch._utils')
sys.modules['torch'], sys.modules['torch._utils'] = torch, utils
torch._utils = utils

def _storage_class(name):
    cls = type(name, (), {})
    cls.__module__, cls.__qualname__ = 'torch', name
    setattr(torch, name, cls)
    return cls

FloatStorage, LongStorage, DoubleStorage = (_storage_class(n) for n in ('FloatStorage', 'LongStorage', 'DoubleStorage'))

def _function(name):
    def f(*args):
        raise RuntimeError('stand-in')
    f.__module__, f.__qualname__, f.__name__ = 'torch._utils', name, name
    setattr(utils, name, f)
    return f

_rebuild_tensor_v2 = _function('_rebuild_tensor_v2')
_rebuild_tensor = _function('_rebuild_tensor')

class Storage:
    def __init__(self, cls, fmt, values):
        self.cls, self.fmt, self.values = cls, fmt, values
        self.key = None
    def raw(self):
        return struct.pack('<%d%s' % (len(self.values), self.fmt), *self.values)

class Tensor:
    legacy = False
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
    def __reduce_ex__(self, protocol):
        if Tensor.legacy:
            return (_rebuild_tensor, (self.storage, self.offset, self.size, self.stride))
        # torch's Tensor._reduce_ex_internal: (storage, offset, size, stride, requires_grad, backward_hooks)
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))

def state_dict():
    w = Storage(FloatStorage, 'f', [0.5 * i for i in range(6)])
    n = Storage(LongStorage, 'q', [7])
    d = Storage(DoubleStorage, 'd', [1.5, -2.25, 1e10])
    sd = collections.OrderedDict()
    sd['conv.weight'] = Tensor(w, 0, [2, 3], [3, 1])
    sd['bn.num_batches_tracked'] = Tensor(n, 0, [], [])
    sd['view'] = Tensor(w, 1, [2], [2])
    sd['double'] = Tensor(d, 0, [3], [1])
    # nn.Module.state_dict() sets this attribute; pickle writes it as BUILD state.
    sd._metadata = collections.OrderedDict([('', {'version': 1}), ('bn', {'version': 2})])
    return sd, [w, n, d]

def write_zip(path):
    sd, _ = state_dict()
    storages = collections.OrderedDict()
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):  # torch/serialization.py _save's persistent_id
            if isinstance(obj, Storage):
                if obj.key is None:
                    obj.key = str(len(storages))
                    storages[obj.key] = obj
                return ('storage', obj.cls, obj.key, 'cpu', len(obj.values))
            return None
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(sd)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', buf.getvalue())
        z.writestr('archive/byteorder', 'little')
        for key, s in storages.items():
            z.writestr('archive/data/' + key, s.raw())
        z.writestr('archive/version', '3\n')

def write_legacy(path):
    sd, _ = state_dict()
    Tensor.legacy = True
    storages = collections.OrderedDict()
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):  # legacy _save: (..., root_key, location, size, view_metadata)
            if isinstance(obj, Storage):
                if obj.key is None:
                    obj.key = str(140000000000 + 64 * len(storages))  # str(id(storage)) in torch
                    storages[obj.key] = obj
                return ('storage', obj.cls, obj.key, 'cpu', len(obj.values), None)
            return None
    with open(path, 'wb') as f:
        pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump(dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4)), f, protocol=2)
        Pickler(f, protocol=2).dump(sd)
        keys = sorted(storages.keys())
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            s = storages[key]
            f.write(struct.pack('<q', len(s.values)))
            f.write(s.raw())
    Tensor.legacy = False

if __name__ == '__main__':
    here = os.path.dirname(os.path.abspath(__file__))
    write_zip(os.path.join(here, 'state_zip.pth'))
    write_legacy(os.path.join(here, 'state_legacy.pth'))
