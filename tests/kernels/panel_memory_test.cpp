// Panel memory (kernels/panel_memory.h): zeroed, 64-byte aligned, disjoint
// buffers of any size, carved from shared chunks or given a chunk of their
// own, safe from several threads, and valid until their own release whatever
// happens to the buffers carved next to them.
#include "kernels/panel_memory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace fptq::kernels {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

uintptr_t addr(const uint8_t* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(PanelMemory, BuffersAreZeroedAlignedAndDisjoint) {
  // 1 byte, around the 64-byte rounding, around half a chunk (8 MiB: the
  // size from which a buffer gets a chunk of its own) and past a chunk.
  const std::vector<size_t> sizes = {1,       63,          64,          65,         4096,
                                     (8u << 20) - 64, (8u << 20) - 1, 8u << 20, (8u << 20) + 1,
                                     (16u << 20) + 65, 3};
  std::vector<PanelBuffer> bufs;
  for (size_t n : sizes) {
    bufs.push_back(alloc_panel_buffer(n, "test"));
    uint8_t* p = bufs.back().get();
    ASSERT_NE(p, nullptr) << n;
    EXPECT_EQ(addr(p) % 64, 0u) << n;
    EXPECT_TRUE(all_zero(p, n)) << n;
    std::fill(p, p + n, uint8_t(0xA5));  // every byte writable
  }
  // Disjoint: no buffer's range overlaps another's.
  for (size_t i = 0; i < sizes.size(); ++i)
    for (size_t j = i + 1; j < sizes.size(); ++j) {
      const uintptr_t a0 = addr(bufs[i].get()), a1 = a0 + sizes[i];
      const uintptr_t b0 = addr(bufs[j].get()), b1 = b0 + sizes[j];
      EXPECT_TRUE(a1 <= b0 || b1 <= a0) << sizes[i] << " vs " << sizes[j];
    }
  // Releasing some leaves the others intact, and new buffers come zeroed.
  for (size_t i = 0; i < bufs.size(); i += 2) bufs[i].reset();
  for (size_t i = 1; i < bufs.size(); i += 2) {
    const uint8_t* p = bufs[i].get();
    EXPECT_TRUE(std::all_of(p, p + sizes[i], [](uint8_t b) { return b == 0xA5; })) << sizes[i];
  }
  PanelBuffer again = alloc_panel_buffer(1000, "test");
  EXPECT_TRUE(all_zero(again.get(), 1000));
}

TEST(PanelMemory, LargeBuffersStartOnA2MiBBoundary) {
  PanelBuffer big = alloc_panel_buffer(9u << 20, "test");
  EXPECT_EQ(addr(big.get()) % (2u << 20), 0u);
}

TEST(PanelMemory, ArraysBehaveLikeZeroedVectors) {
  PanelArray<uint16_t> empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);
  PanelArray<int16_t> none(0, "test");
  EXPECT_TRUE(none.empty());
  PanelArray<int16_t> a(37, "test");
  ASSERT_EQ(a.size(), 37u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], 0);
  for (size_t i = 0; i < a.size(); ++i) a[i] = int16_t(-int(i));
  PanelArray<int16_t> moved = std::move(a);
  for (size_t i = 0; i < moved.size(); ++i) EXPECT_EQ(moved.data()[i], -int(i));
}

TEST(PanelMemory, ThreadsGetDisjointBuffers) {
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::vector<PanelBuffer>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&got, t] {
      for (int i = 0; i < kPerThread; ++i) {
        got[size_t(t)].push_back(alloc_panel_buffer(size_t(1000 + 37 * i), "test"));
        uint8_t* p = got[size_t(t)].back().get();
        std::fill(p, p + 1000 + 37 * i, uint8_t(t + 1));
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kPerThread; ++i) {
      const uint8_t* p = got[size_t(t)][size_t(i)].get();
      EXPECT_TRUE(std::all_of(p, p + 1000 + 37 * i, [t](uint8_t b) { return b == t + 1; }))
          << "thread " << t << " buffer " << i;
    }
}

}  // namespace
}  // namespace fptq::kernels
