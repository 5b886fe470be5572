#pragma once
// MindSpore checkpoint files (.ckpt, what mindspore.save_checkpoint writes) without MindSpore.
// The file is a protobuf message (mindspore/ccsrc/utils/checkpoint.proto):
//   message Checkpoint { message Value { required string tag = 1; required TensorProto tensor = 2;
//                                        optional MapTensorProto maptensor = 3; }
//                        repeated Value value = 1; }
//   message TensorProto { repeated int64 dims = 1; required string tensor_type = 2;
//                         required bytes tensor_content = 3; }
// MindSpore appends one Checkpoint message per parameter, which protobuf reads as one message with
// the Values concatenated. tensor_content is the raw little-endian data, row-major; a large
// tensor is split into several consecutive Values with the same tag (dims those of the whole
// tensor), whose contents are concatenated here.
//
// The reader is our own minimal protobuf wire-format decoder (varint, 64-bit, length-delimited,
// 32-bit; unknown fields skipped; `dims` packed or not): a protobuf library would bring protoc
// into the build for a 3-field schema. MapTensor values (field 3) are skipped. Encrypted
// checkpoints (enc_key) are not supported.
#include <string>

#include "modeling/weights/pth_file.h"  // PthEntry, StateDictEntries

namespace studio {

// Reads the tensors of a MindSpore checkpoint, in file order, as CPU contiguous tensors of the
// file's dtype (Float16/32/64, BFloat16, Int8/16/32/64, UInt8, Bool). Throws studio::Error naming
// the file and, for a corrupt or truncated file, the byte offset and what was expected; for a bad
// tensor, its name.
[[nodiscard]] StateDictEntries read_mindspore_checkpoint(const std::string& path);

// The same from the file's bytes; `file_for_errors` starts every error message.
[[nodiscard]] StateDictEntries parse_mindspore_checkpoint(const std::string& bytes,
                                                          const std::string& file_for_errors);

}  // namespace studio
