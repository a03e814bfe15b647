// read_gguf on malformed files: one test per class of damage. Each must be
// rejected with fptq::Error whose one-line message names the file and the
// offending item (and never crash, hang or allocate absurd amounts).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/error.h"
#include "io/gguf_format.h"
#include "io/gguf_reader.h"
#include "gguf_bytes.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {

using namespace fptq::io::testing;

class GgufHostile : public ::testing::Test {
 protected:
  fptq::testing::TempDir dir_;

  std::string write(const Bytes& b, const std::string& name = "bad.gguf") {
    const std::string p = (dir_ / name).string();
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    return p;
  }

  // The fptq::Error message read_gguf throws for `b`; fails the test when it
  // succeeds or throws anything else.
  std::string error_for(const Bytes& b) {
    const std::string p = write(b);
    try {
      read_gguf(p);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
      EXPECT_EQ(msg.rfind(p, 0), 0u) << "names the file first: " << msg;
      return msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-fptq exception: " << e.what();
      return "";
    }
    ADD_FAILURE() << "malformed file accepted";
    return "";
  }

  void expect_error(const Bytes& b, std::initializer_list<std::string> parts) {
    const std::string msg = error_for(b);
    for (const std::string& part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' missing in: " << msg;
  }
};

Bytes cut(Bytes b, size_t n) {
  b.resize(n);
  return b;
}

TEST_F(GgufHostile, SmallValidFileIsAccepted) {
  const RawGguf g = small_valid_gguf();
  auto m = read_gguf(write(g.build()));
  ASSERT_EQ(m->tensors.size(), 2u);
  EXPECT_EQ(m->tensors[1].nbytes, 68u);
  EXPECT_EQ(m->metadata.find("tokenizer.ggml.tokens")->strings,
            (std::vector<std::string>{"<s>", "a", "bc"}));
}

TEST_F(GgufHostile, MissingAndEmptyFiles) {
  try {
    read_gguf((dir_ / "absent.gguf").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.gguf: no such file"), std::string::npos);
  }
  expect_error({}, {"empty"});
  try {
    read_gguf(dir_.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos);
  }
}

TEST_F(GgufHostile, BadMagic) {
  RawGguf g = small_valid_gguf();
  g.magic = "GGML";
  expect_error(g.build(), {"bad magic 47 47 4d 4c"});
  expect_error({'G', 'G'}, {"header", "truncated", "file size 2"});
}

TEST_F(GgufHostile, UnsupportedVersion) {
  RawGguf g = small_valid_gguf();
  g.version = 1;
  expect_error(g.build(), {"unsupported GGUF version 1"});
  g.version = 4;
  expect_error(g.build(), {"unsupported GGUF version 4"});
  g.version = 0x03000000;
  expect_error(g.build(), {"big-endian"});
  g.version = 2;  // v2 has the same layout as v3 and is accepted
  EXPECT_EQ(read_gguf(write(g.build(), "v2.gguf"))->gguf_version, 2u);
}

TEST_F(GgufHostile, TruncatedHeader) {
  const Bytes b = small_valid_gguf().build();
  expect_error(cut(b, 10), {"header", "need 8 bytes at offset 8", "file size 10"});
  expect_error(cut(b, 20), {"header", "need 8 bytes at offset 16", "file size 20"});
}

// The up-front count check rejects a cut within the first bytes of the KV
// section ("N kv pairs cannot fit"), so these files make the first key and
// value long enough for the cut to land in the named item itself.
TEST_F(GgufHostile, TruncatedKvKey) {
  RawGguf g = small_valid_gguf();
  const std::string key = "general." + std::string(200, 'k');
  g.kvs.insert(g.kvs.begin(), {key, val_u32(7)});
  Layout l;
  const Bytes b = g.build(&l);
  expect_error(cut(b, l.kv_start + 8 + 150),
               {"kv #0 key", "string length 208 at offset 32 beyond file size 182"});
  expect_error(cut(b, 20), {"header", "truncated"});
}

TEST_F(GgufHostile, TruncatedKvValue) {
  RawGguf g = small_valid_gguf();
  g.kvs[0].value = val_string(std::string(300, 'v'));
  Layout l;
  const Bytes b = g.build(&l);
  // Inside kv #1's u32 payload: value type id read, 2 of its 4 bytes present.
  const size_t kv1_payload = l.first_value + 4 + 8 + 300 + 8 + 17 + 4;
  expect_error(cut(b, kv1_payload + 2), {"key 'llama.block_count'", "truncated", "need 4 bytes"});
  expect_error(cut(b, l.first_value + 4 + 8 + 100),
               {"key 'general.architecture'", "string length 300", "beyond file size"});
  // Inside an array element (the last token string).
  RawGguf h = small_valid_gguf();
  h.kvs[2].value = val_array_strings({"<s>", std::string(100, 'a'), std::string(200, 'b')});
  Layout lh;
  const Bytes bh = h.build(&lh);
  expect_error(cut(bh, lh.tensor_infos - 150), {"key 'tokenizer.ggml.tokens' element 2", "string length 200"});
  // A scalar cut short.
  expect_error(cut(b, l.tensor_infos - 1), {"key 'tokenizer.ggml.tokens' element 2"});
}

TEST_F(GgufHostile, TruncatedTensorInfo) {
  Layout l;
  const Bytes b = small_valid_gguf().build(&l);
  expect_error(cut(b, l.tensor_infos + 3), {"tensor info #0", "truncated"});
  // After the name: n_dims / ne / type / offset missing.
  expect_error(cut(b, l.tensor_infos + 8 + 18 + 6), {"tensor 'output_norm.weight' info", "truncated"});
}

TEST_F(GgufHostile, TruncatedData) {
  Layout l;
  const Bytes b = small_valid_gguf().build(&l);
  const size_t n = l.data + 32 + 50;  // inside token_embd's 68 bytes
  expect_error(cut(b, n), {"tensor 'token_embd.weight'", fmt::format("data {}+68", l.data + 32),
                           fmt::format("beyond file size {}", n)});
}

TEST_F(GgufHostile, TensorDataBeyondEof) {
  RawGguf g = small_valid_gguf();
  g.tensors[0].offset = 4096;
  Layout l;
  const Bytes b = g.build(&l);
  expect_error(b, {"tensor 'output_norm.weight'", fmt::format("data {}+16", l.data + 4096),
                   fmt::format("beyond file size {}", b.size())});
  g.tensors[0].offset = UINT64_MAX - 31;  // aligned, but data_start + offset overflows
  expect_error(g.build(), {"tensor 'output_norm.weight'", "overflows"});
}

TEST_F(GgufHostile, OverlappingTensors) {
  RawGguf g = small_valid_gguf();
  g.tensors[1].ne = {32, 1};
  g.tensors[1].offset = 0;  // both start at 0
  expect_error(g.build(), {"overlaps", "output_norm.weight", "token_embd.weight"});
  RawGguf h = small_valid_gguf();
  h.tensors[0].ne = {16};  // 64 bytes: runs into token_embd at 32
  expect_error(h.build(), {"tensor 'token_embd.weight'", "overlaps tensor 'output_norm.weight' at 0+64"});
}

TEST_F(GgufHostile, DimsProductOverflow) {
  RawGguf g = small_valid_gguf();
  g.tensors[0].ne = {1ull << 32, 1ull << 32};
  expect_error(g.build(), {"tensor 'output_norm.weight'", "element count overflows at dim 1"});
  // Elements fit in int64 but the byte count does not.
  g.tensors[0].ne = {1ull << 31, 1ull << 31};
  expect_error(g.build(), {"tensor 'output_norm.weight'", "byte size overflows"});
}

TEST_F(GgufHostile, TooManyDims) {
  RawGguf g = small_valid_gguf();
  g.tensors[0].ne = {1, 1, 1, 1, 4};
  expect_error(g.build(), {"tensor 'output_norm.weight'", "5 dims, at most 4"});
}

TEST_F(GgufHostile, ZeroDimsIsAOneElementScalar) {
  RawGguf g = small_valid_gguf();
  g.tensors[0].ne = {};
  auto m = read_gguf(write(g.build(), "scalar.gguf"));
  EXPECT_TRUE(m->tensors[0].ne.empty());
  EXPECT_EQ(m->tensors[0].n_elements(), 1);
  EXPECT_EQ(m->tensors[0].nbytes, 4u);
  g.tensors[0].type = 2;  // a Q4_0 scalar cannot exist: 1 element is not a block
  expect_error(g.build(), {"tensor 'output_norm.weight'", "not a multiple of the Q4_0 block size 32"});
}

TEST_F(GgufHostile, NonPositiveDims) {
  RawGguf g = small_valid_gguf();
  g.tensors[0].ne = {4, 0};
  expect_error(g.build(), {"tensor 'output_norm.weight'", "dim 1 = 0 is not positive"});
  g.tensors[0].ne = {uint64_t(-4)};  // -4 as int64
  expect_error(g.build(), {"tensor 'output_norm.weight'", "dim 0 = 18446744073709551612"});
}

TEST_F(GgufHostile, UnknownTensorType) {
  RawGguf g = small_valid_gguf();
  g.tensors[1].type = 99;
  expect_error(g.build(), {"tensor 'token_embd.weight'", "unknown tensor type 99"});
  g.tensors[1].type = 4;  // removed Q4_2: a gap in the id space
  expect_error(g.build(), {"unknown tensor type 4"});
}

TEST_F(GgufHostile, StringLengthBeyondEof) {
  RawGguf g = small_valid_gguf();
  Bytes b = g.build();
  // Key length of kv #0 set to 10^12.
  const uint64_t huge = 1000000000000ull;
  std::memcpy(b.data() + 24, &huge, 8);
  expect_error(b, {"kv #0 key", "string length 1000000000000 at offset 32 beyond file size"});
  g.tensors[0].name = std::string(65, 'x');
  expect_error(g.build(), {"tensor info #0", "name of 65 bytes exceeds 64"});
  g.kvs[0].value = val_string("");
  g.kvs[0].value.payload.assign(8, 0xff);  // string length 2^64-1
  expect_error(g.build(), {"key 'general.architecture'", "string length 18446744073709551615"});
}

TEST_F(GgufHostile, DuplicateKeys) {
  RawGguf g = small_valid_gguf();
  g.kvs.push_back({"llama.block_count", val_u32(2)});
  expect_error(g.build(), {"duplicate key 'llama.block_count'"});
}

TEST_F(GgufHostile, DuplicateTensorNames) {
  RawGguf g = small_valid_gguf();
  g.tensors[1].name = g.tensors[0].name;
  expect_error(g.build(), {"duplicate tensor name 'output_norm.weight'"});
}

TEST_F(GgufHostile, UnalignedOffset) {
  RawGguf g = small_valid_gguf();
  g.tensors[1].offset = 16;
  expect_error(g.build(), {"tensor 'token_embd.weight'", "offset 16 is not a multiple of the alignment 32"});
  // With general.alignment = 16 the same offset is fine.
  g.kvs.push_back({"general.alignment", val_u32(16)});
  g.tensors[0].ne = {4};
  g.data.resize(16 + 68);
  EXPECT_EQ(read_gguf(write(g.build(), "align16.gguf"))->alignment, 16u);
}

TEST_F(GgufHostile, BadAlignmentKey) {
  RawGguf g = small_valid_gguf();
  g.kvs.push_back({"general.alignment", val_u32(24)});
  expect_error(g.build(), {"'general.alignment'", "24 is not a power of two"});
  g.kvs.back().value = val_u32(0);
  expect_error(g.build(), {"'general.alignment'", "0 is not a power of two"});
  g.kvs.back().value = val_u64(32);
  expect_error(g.build(), {"'general.alignment'", "expected u32, found u64"});
}

TEST_F(GgufHostile, RowNotAMultipleOfTheBlockSize) {
  RawGguf g = small_valid_gguf();
  g.tensors[1].ne = {48, 1};
  expect_error(g.build(), {"tensor 'token_embd.weight'", "row of 48 elements", "Q8_0 block size 32"});
}

TEST_F(GgufHostile, AbsurdCountsRejectedBeforeAllocating) {
  RawGguf g = small_valid_gguf();
  g.n_kv = 1ull << 60;
  expect_error(g.build(), {"header", "1152921504606846976 kv pairs cannot fit"});
  g = small_valid_gguf();
  g.n_tensors = 1ull << 60;
  expect_error(g.build(), {"header", "1152921504606846976 tensor infos cannot fit"});
  g = small_valid_gguf();
  g.n_tensors = UINT64_MAX;
  expect_error(g.build(), {"tensor infos cannot fit"});
  // An array claiming 2^61 u32 elements.
  g = small_valid_gguf();
  RawValue arr{9, {}};
  append<uint32_t>(arr.payload, 4);
  append<uint64_t>(arr.payload, 1ull << 61);
  g.kvs[1].value = arr;
  expect_error(g.build(), {"key 'llama.block_count'", "array of 2305843009213693952 u32 elements",
                           "cannot fit"});
  // Each string element takes at least 8 bytes: 2^60 strings cannot fit either.
  RawValue strs{9, {}};
  append<uint32_t>(strs.payload, 8);
  append<uint64_t>(strs.payload, 1ull << 60);
  g.kvs[1].value = strs;
  expect_error(g.build(), {"key 'llama.block_count'", "string elements", "cannot fit"});
  // More tensors claimed than present: the count fits, the infos are missing.
  g = small_valid_gguf();
  g.n_tensors = 3;
  expect_error(g.build(), {"tensor"});
}

// Metadata that fits in the file but not in memory: a u8 array takes 8 bytes
// an element once parsed, so an array of kMaxMetadataMemory/8 + 1 elements
// (a 128 MiB file) is refused before its elements are allocated, naming the
// key and the bound; one element fewer is read.
TEST_F(GgufHostile, MetadataBeyondItsMemoryBoundIsRefused) {
  const uint64_t n = gguf::kMaxMetadataMemory / sizeof(int64_t) + 1;
  RawGguf g;
  RawValue arr{9, {}};
  append<uint32_t>(arr.payload, 0);  // u8
  append<uint64_t>(arr.payload, n);
  arr.payload.resize(arr.payload.size() + n, 1);
  g.kvs.push_back({"huge.u8", std::move(arr)});
  expect_error(g.build(), {"key 'huge.u8'", "more than the 1024 MiB of memory fptq gives it"});
  RawGguf ok;
  RawValue fits{9, {}};
  append<uint32_t>(fits.payload, 0);
  append<uint64_t>(fits.payload, 1u << 20);
  fits.payload.resize(fits.payload.size() + (1u << 20), 1);
  ok.kvs.push_back({"big.u8", std::move(fits)});
  EXPECT_EQ(read_gguf(write(ok.build()))->metadata.find("big.u8")->size(), size_t(1) << 20);
}

TEST_F(GgufHostile, BadValueTypes) {
  RawGguf g = small_valid_gguf();
  g.kvs[1].value = RawValue{13, {0, 0, 0, 0}};
  expect_error(g.build(), {"key 'llama.block_count'", "unknown value type 13"});
  RawValue nested{9, {}};
  append<uint32_t>(nested.payload, 9);
  append<uint64_t>(nested.payload, 1);
  g.kvs[1].value = nested;
  expect_error(g.build(), {"key 'llama.block_count'", "nested arrays"});
  RawValue bad_elem{9, {}};
  append<uint32_t>(bad_elem.payload, 77);
  append<uint64_t>(bad_elem.payload, 1);
  g.kvs[1].value = bad_elem;
  expect_error(g.build(), {"key 'llama.block_count'", "unknown array element type 77"});
  g = small_valid_gguf();
  g.kvs[0].key = "";
  expect_error(g.build(), {"kv #0", "empty key"});
  g = small_valid_gguf();
  g.tensors[0].name = "";
  expect_error(g.build(), {"tensor info #0", "empty name"});
}

// Every proper prefix of a valid file is rejected cleanly, whatever section
// the cut falls in.
TEST_F(GgufHostile, TruncationAtEveryByte) {
  const Bytes b = small_valid_gguf().build();
  ASSERT_NO_THROW(read_gguf(write(b, "full.gguf")));
  for (size_t n = 0; n < b.size(); ++n) {
    SCOPED_TRACE(n);
    const std::string msg = error_for(cut(b, n));
    ASSERT_FALSE(msg.empty());
  }
}

// Random byte corruption never crashes: read_gguf either accepts the file
// (the damage hit tensor data or a harmless field) or throws fptq::Error.
TEST_F(GgufHostile, RandomCorruptionNeverCrashes) {
  const Bytes good = small_valid_gguf().build();
  std::mt19937 rng(1234);
  int rejected = 0;
  const std::string p = (dir_ / "fuzz.gguf").string();
  for (int iter = 0; iter < 600; ++iter) {
    Bytes b = good;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng() % b.size();
      b[at] = rng() % 3 == 0 ? uint8_t(0xff) : uint8_t(rng());
    }
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    }
    try {
      auto m = read_gguf(p);
      // Anything accepted lies inside the file: touching every byte must not fault.
      volatile unsigned sum = 0;  // volatile: the reads may not be optimized away
      for (const TensorInfo& t : m->tensors) {
        ASSERT_LE(t.offset + t.nbytes, b.size()) << t.name;
        for (uint64_t i = 0; i < t.nbytes; ++i) sum = sum + t.data[i];
      }
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 200) << "most corruptions of the header are detectable";
}

}  // namespace
}  // namespace fptq::io
