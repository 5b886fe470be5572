#pragma once
// How the COCO readers (annotations and results) read a big file: in pieces on several threads
// (json_pieces.h), or in one walk. The result is the same, element for element, either way.
#include <cstddef>

namespace studio {

struct ReadOptions {
  std::size_t pieces_above = 16u << 20;  // files of this many bytes or more are read in pieces
  std::size_t piece_bytes = 4u << 20;    // about this much JSON a piece
  int threads = 0;                       // 0: every core
  bool* read_in_pieces = nullptr;        // when set: told whether the pieces were used (tests, benchmarks)
};

}  // namespace studio
