#!/usr/bin/env python3
"""Writes MindSpore checkpoint files (.ckpt) without MindSpore or the protobuf package.

The format is the protobuf message of mindspore/ccsrc/utils/checkpoint.proto:
  message Checkpoint { message Value { required string tag = 1; required TensorProto tensor = 2;
                                       optional MapTensorProto maptensor = 3; }
                       repeated Value value = 1; }
  message TensorProto { repeated int64 dims = 1; required string tensor_type = 2;
                        required bytes tensor_content = 3; }
encoded by hand: proto2 writes `repeated int64` unpacked (one key per dim), tag before tensor.
Like mindspore.save_checkpoint, a tensor larger than `split_bytes` is split along axis 0
(numpy.array_split) into consecutive Values with the same tag, each with the whole tensor's dims.

Command line (the fixtures of tests/test_mindspore_ckpt.cpp, which recomputes every value):
  write_ms_checkpoint.py OUT_DIR   ->  OUT_DIR/small.ckpt
"""
import math
import os
import sys

import numpy as np

DTYPE_NAMES = {
    np.dtype(np.float32): "Float32",
    np.dtype(np.float16): "Float16",
    np.dtype(np.float64): "Float64",
    np.dtype(np.int8): "Int8",
    np.dtype(np.int16): "Int16",
    np.dtype(np.int32): "Int32",
    np.dtype(np.int64): "Int64",
    np.dtype(np.uint8): "UInt8",
    np.dtype(np.bool_): "Bool",
}


def varint(n):
    n &= (1 << 64) - 1  # negative int64 as two's complement, 10 bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def length_delimited(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def tensor_proto(dims, dtype_name, content):
    out = b"".join(key(1, 0) + varint(d) for d in dims)  # unpacked, as proto2 writes
    out += length_delimited(2, dtype_name.encode())
    out += length_delimited(3, content)
    return out


def value(tag, dims, dtype_name, content):
    return length_delimited(1, length_delimited(1, tag.encode()) + length_delimited(2, tensor_proto(dims, dtype_name, content)))


def checkpoint_bytes(entries, split_bytes=None):
    out = bytearray()
    for name, array in entries:
        array = np.asarray(array)
        dtype_name = DTYPE_NAMES[array.dtype]
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        dims = list(array.shape)
        if split_bytes is not None and array.ndim >= 1 and array.nbytes > split_bytes:
            pieces = np.array_split(little, math.ceil(array.nbytes / split_bytes))
        else:
            pieces = [little]
        for piece in pieces:
            out += value(name, dims, dtype_name, np.ascontiguousarray(piece).tobytes())
    return bytes(out)


def write_checkpoint(path, entries, split_bytes=None):
    """entries: list of (name, numpy array); split_bytes: split tensors larger than this."""
    with open(path, "wb") as f:
        f.write(checkpoint_bytes(entries, split_bytes))


def small_entries():
    """Formula values of arange; tests/test_mindspore_ckpt.cpp recomputes each one."""
    a = np.arange
    return [
        ("conv.weight", (a(24, dtype=np.float32) * 0.25 - 3.0).reshape(2, 3, 2, 2)),
        ("conv.bias", a(4, dtype=np.float16) * 0.5 - 1.0),
        ("fc.weight", (a(6, dtype=np.float64) / 8 + 0.125).reshape(2, 3)),
        ("bn.num_batches_tracked", np.array((1 << 40) + 7, dtype=np.int64)),  # 0-d
        ("ids", a(5, dtype=np.int32) * -3 + 100000),
        ("small", (a(6, dtype=np.int16) * -1000).reshape(3, 2)),
        ("tiny", a(4, dtype=np.int8) * -30),
        ("mask", (a(8) % 3 == 0).reshape(2, 4)),
        ("pixels", ((a(12) * 37) % 256).astype(np.uint8).reshape(3, 4)),
        ("big", (a(60, dtype=np.float32) * 0.5 - 10.0).reshape(6, 10)),  # 240 bytes: 3 parts of 2 rows
    ]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: write_ms_checkpoint.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    write_checkpoint(os.path.join(out_dir, "small.ckpt"), small_entries(), split_bytes=100)
    print("wrote", os.path.join(out_dir, "small.ckpt"))


if __name__ == "__main__":
    main()
