// Memory for packed weight panels: large, long-lived buffers that decode
// streams through once per token. They are carved out of 2 MiB-aligned chunks
// advised as transparent huge pages (madvise(MADV_HUGEPAGE); the kernel's THP
// mode is often "madvise", so plain malloc memory gets 4 KiB pages), so
// streaming a model's weights walks one page per 2 MiB instead of one per
// 4 KiB: fewer TLB misses and fewer page boundaries for the hardware
// prefetchers. Where huge pages are not available the chunk is ordinary
// memory; nothing else changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fptq::kernels {

struct PanelChunk;

// Releases one panel buffer: the chunk is unmapped when its last buffer goes.
struct PanelFree {
  std::shared_ptr<PanelChunk> chunk;
  void operator()(uint8_t*) const {}  // dropping `chunk` (with the deleter) is the release
};

using PanelBuffer = std::unique_ptr<uint8_t[], PanelFree>;

// A zeroed, 64-byte aligned buffer of `bytes` (> 0) bytes; `what` names it
// in the error if the memory cannot be had. Thread-safe.
PanelBuffer alloc_panel_buffer(size_t bytes, const char* what);

// n zeroed T in panel memory (the compact scale arrays that decode streams
// next to the weights): the part of std::vector the kernels use.
template <class T>
struct PanelArray {
  PanelBuffer mem;
  size_t n = 0;

  PanelArray() = default;
  PanelArray(size_t count, const char* what)
      : mem(count == 0 ? PanelBuffer() : alloc_panel_buffer(count * sizeof(T), what)), n(count) {}
  T* data() const { return reinterpret_cast<T*>(mem.get()); }
  size_t size() const { return n; }
  bool empty() const { return n == 0; }
  T& operator[](size_t i) const { return data()[i]; }
};

}  // namespace fptq::kernels
