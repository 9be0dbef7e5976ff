// Private parts of Engine shared by engine*.cc. Not for use outside storage.
#pragma once

#include <memory>
#include <vector>

#include "storage/block.h"
#include "storage/engine.h"
#include "storage/head.h"

namespace vigil::storage {

// What a reader sees: the live blocks (ascending order), the head being
// flushed (if any) and the current head. Immutable once installed; a new
// Version replaces it whenever the block set or the heads change, so a
// reader holding one sees every point exactly once.
struct Engine::Version {
  std::vector<LiveBlock> blocks;
  std::shared_ptr<Head> imm;
  std::shared_ptr<Head> head;
};

}  // namespace vigil::storage
