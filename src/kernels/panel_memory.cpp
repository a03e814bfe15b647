#include "kernels/panel_memory.h"

#include <sys/mman.h>

#include <mutex>

#include "core/error.h"

namespace fptq::kernels {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
// Buffers are carved out of chunks of this size (small matrices share one);
// a buffer of half a chunk or more gets a chunk of its own.
constexpr size_t kChunkBytes = size_t(16) << 20;
constexpr size_t kAlign = 64;

size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }
}  // namespace

// One mapping of `size` bytes at `base` (2 MiB aligned), carved from the
// front; unmapped when the last buffer carved from it is released.
struct PanelChunk {
  uint8_t* base = nullptr;
  size_t size = 0;
  size_t used = 0;  // guarded by the allocator's mutex
  ~PanelChunk() {
    if (base != nullptr) munmap(base, size);
  }
};

namespace {

std::shared_ptr<PanelChunk> map_chunk(size_t size, const char* what) {
  // Over-map by one huge page and trim both ends to get 2 MiB alignment.
  const size_t span = size + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) fail("{}: cannot allocate {} bytes for packed weights", what, size);
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span, used_end = aligned + size;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  auto chunk = std::make_shared<PanelChunk>();
  chunk->base = reinterpret_cast<uint8_t*>(aligned);
  chunk->size = size;
#ifdef MADV_HUGEPAGE
  madvise(chunk->base, size, MADV_HUGEPAGE);  // advice only: failure leaves 4 KiB pages
#endif
  return chunk;  // anonymous memory: already zero
}

std::mutex g_mu;
std::weak_ptr<PanelChunk> g_current;  // the chunk small buffers are carved from

}  // namespace

PanelBuffer alloc_panel_buffer(size_t bytes, const char* what) {
  FPTQ_CHECK(bytes > 0);
  bytes = round_up(bytes, kAlign);
  if (bytes >= kChunkBytes / 2) {
    auto chunk = map_chunk(round_up(bytes, kHugePage), what);
    chunk->used = bytes;
    uint8_t* p = chunk->base;
    return PanelBuffer(p, PanelFree{std::move(chunk)});
  }
  std::lock_guard<std::mutex> lock(g_mu);
  std::shared_ptr<PanelChunk> chunk = g_current.lock();
  if (!chunk || chunk->size - chunk->used < bytes) {
    chunk = map_chunk(kChunkBytes, what);
    g_current = chunk;
  }
  uint8_t* p = chunk->base + chunk->used;
  chunk->used += bytes;
  return PanelBuffer(p, PanelFree{std::move(chunk)});
}

}  // namespace fptq::kernels
