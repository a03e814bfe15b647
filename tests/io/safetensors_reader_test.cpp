// safetensors reader: a valid file, then one test per malformed class, each
// asserting an fptq::Error that names the file and the offending tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/safetensors.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {

// u64 header length + header + data, the header padded with spaces to `pad_to`.
std::string st_bytes(const std::string& header, const std::string& data, size_t pad_to = 8) {
  std::string h = header;
  while (h.size() % pad_to) h += ' ';
  std::string out(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + h + data;
}

std::string write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return p.string();
}

// Expects read_safetensors(path) to throw an fptq::Error whose message
// contains the path and every string in `parts`.
void expect_error(const std::string& path, std::initializer_list<std::string> parts) {
  try {
    read_safetensors(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string file(const std::string& header, const std::string& data,
                   const char* name = "m.safetensors") {
    return write_file(dir_ / name, st_bytes(header, data));
  }
};

TEST_F(SafetensorsTest, ReadsValidFile) {
  const std::string data = floats({1, 2, 3, 4, 5, 6}) + std::string("\x00\x3c\x00\xc0", 4);
  const std::string p = file(R"({"b":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},)"
                             R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                             R"("z":{"dtype":"BF16","shape":[0,5],"data_offsets":[28,28]},)"
                             R"("__metadata__":{"format":"pt"}})",
                             data);
  const SafetensorsFile f = read_safetensors(p);
  ASSERT_EQ(f.tensors.size(), 3u);
  const SafetensorsTensor* a = f.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, "F32");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->nbytes, 24u);
  float v[6];
  std::memcpy(v, a->data, 24);
  EXPECT_EQ(v[5], 6.0f);
  const SafetensorsTensor* b = f.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->data, a->data + 24);
  EXPECT_EQ(b->data[1], 0x3c);
  EXPECT_EQ(f.find("z")->nbytes, 0u);
  EXPECT_EQ(f.metadata.at("format"), "pt");
}

TEST_F(SafetensorsTest, EmptyHeaderObjectWithNoData) {
  EXPECT_TRUE(read_safetensors(file("{}", "")).tensors.empty());
}

TEST_F(SafetensorsTest, RejectsFileShorterThanLengthField) {
  expect_error(write_file(dir_ / "short.safetensors", "abc"), {"too small"});
}

TEST_F(SafetensorsTest, RejectsHeaderLargerThanFile) {
  std::string bytes =
      st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1}));
  bytes[0] = char(0xff);  // header length 255 + ... > file
  expect_error(write_file(dir_ / "big.safetensors", bytes), {"header length", "beyond file size"});
}

TEST_F(SafetensorsTest, RejectsHeaderOver100MB) {
  std::string bytes(16, '\0');
  const uint64_t n = (uint64_t(100) << 20) + 1;
  for (int i = 0; i < 8; ++i) bytes[i] = char((n >> (8 * i)) & 0xff);
  expect_error(write_file(dir_ / "huge.safetensors", bytes), {"exceeds", "104857600"});
}

TEST_F(SafetensorsTest, RejectsNotJson) {
  expect_error(file("{\"a\": [1, 2", ""), {"not valid JSON"});
}

TEST_F(SafetensorsTest, RejectsJsonThatIsNotAnObject) {
  expect_error(file("[1, 2, 3]", ""), {"not a JSON object"});
}

TEST_F(SafetensorsTest, RejectsDuplicateTensorNames) {
  expect_error(file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    floats({1, 2})),
               {"'w'", "twice"});
}

TEST_F(SafetensorsTest, RejectsMissingFields) {
  expect_error(file(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", floats({1})), {"'w'", "dtype"});
  expect_error(file(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", floats({1})),
               {"'w'", "shape"});
  expect_error(file(R"({"w":{"dtype":"F32","shape":[1]}})", floats({1})), {"'w'", "data_offsets"});
  expect_error(file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", floats({1})),
               {"'w'", "non-negative"});
  expect_error(file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", floats({1})),
               {"'w'", "data_offsets"});
  expect_error(file(R"({"w":[1]})", floats({1})), {"'w'", "not a JSON object"});
  expect_error(file(R"({"__metadata__":{"k":1}})", ""), {"__metadata__", "'k'"});
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  expect_error(file(R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", floats({1})),
               {"'w'", "unknown dtype 'F12'"});
}

TEST_F(SafetensorsTest, RejectsShapeTimesDtypeNotMatchingBytes) {
  expect_error(
      file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", floats({1, 2, 3})),
      {"'w'", "16 bytes", "hold 12"});
  expect_error(file(R"({"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,4]}})", floats({1})),
               {"'w'", "6 bytes", "hold 4"});
}

TEST_F(SafetensorsTest, RejectsShapeProductOverflow) {
  expect_error(file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                    floats({1})),
               {"'w'", "overflows"});
  expect_error(file(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}})",
                    floats({1})),
               {"'w'", "overflows"});
}

TEST_F(SafetensorsTest, RejectsOffsetsOutOfRange) {
  expect_error(file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", floats({1})),
               {"'w'", "out of range", "data size 4"});
  expect_error(file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", floats({1})),
               {"'w'", "out of range"});
  expect_error(file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,0]}})",
                    floats({1})),
               {"'w'", "out of range"});
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  expect_error(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    floats({1, 2, 3})),
               {"'b'", "overlap", "'a'"});
}

TEST_F(SafetensorsTest, RejectsBytesNotCoveredByAnyTensor) {
  expect_error(file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", floats({1, 2})),
               {"'a'", "[0, 4)", "no tensor"});
  expect_error(file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1, 2})),
               {"[4, 8)", "no tensor"});
}

// --- sharded checkpoints ---------------------------------------------------

class CheckpointTest : public SafetensorsTest {
 protected:
  void shard(const char* name, const char* tensor) {
    file(std::string(R"({")") + tensor + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
         floats({1}), name);
  }
  void index(const std::string& weight_map) {
    write_file(dir_ / "model.safetensors.index.json", R"({"weight_map": )" + weight_map + "}");
  }
  std::string index_path() const { return (dir_ / "model.safetensors.index.json").string(); }
};

void expect_checkpoint_error(const std::filesystem::path& dir, const std::string& file,
                             std::initializer_list<std::string> parts) {
  try {
    read_safetensors_checkpoint(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
  }
}

TEST_F(CheckpointTest, ReadsShardsThroughIndex) {
  shard("s1.safetensors", "x");
  shard("s2.safetensors", "y");
  index(R"({"x": "s1.safetensors", "y": "s2.safetensors"})");
  const SafetensorsCheckpoint ck = read_safetensors_checkpoint(dir_.path());
  ASSERT_EQ(ck.files.size(), 2u);
  ASSERT_NE(ck.find("x"), nullptr);
  ASSERT_NE(ck.find("y"), nullptr);
  EXPECT_EQ(ck.find("z"), nullptr);
  EXPECT_EQ(ck.files[ck.file_of[1]].path, (dir_ / "s2.safetensors").string());
}

TEST_F(CheckpointTest, RejectsMissingShardFile) {
  shard("s1.safetensors", "x");
  index(R"({"x": "s1.safetensors", "y": "s2.safetensors"})");
  expect_checkpoint_error(dir_.path(), index_path(), {"s2.safetensors", "'y'", "does not exist"});
}

TEST_F(CheckpointTest, RejectsTensorInTwoShards) {
  shard("s1.safetensors", "x");
  shard("s2.safetensors", "x");
  index(R"({"x": "s1.safetensors", "y": "s2.safetensors"})");
  expect_checkpoint_error(dir_.path(), "s1.safetensors", {"'x'", "s2.safetensors", "both"});
}

TEST_F(CheckpointTest, RejectsIndexTensorMissingFromShard) {
  shard("s1.safetensors", "x");
  index(R"({"x": "s1.safetensors", "y": "s1.safetensors"})");
  expect_checkpoint_error(dir_.path(), index_path(), {"'y'", "missing"});
}

TEST_F(CheckpointTest, RejectsShardTensorNotInIndex) {
  shard("s1.safetensors", "x");
  shard("s2.safetensors", "y");
  index(R"({"x": "s1.safetensors", "z": "s2.safetensors"})");
  expect_checkpoint_error(dir_.path(), index_path(), {"'y'", "not listed"});
}

TEST_F(CheckpointTest, RejectsShardPathOutsideDirectory) {
  index(R"({"x": "../s1.safetensors"})");
  expect_checkpoint_error(dir_.path(), index_path(), {"'x'", "invalid shard file name"});
}

TEST_F(CheckpointTest, RejectsIndexWithoutWeightMap) {
  write_file(dir_ / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_checkpoint_error(dir_.path(), index_path(), {"weight_map"});
}

TEST_F(CheckpointTest, SingleFileWithoutIndex) {
  shard("model.safetensors", "x");
  EXPECT_NE(read_safetensors_checkpoint(dir_.path()).find("x"), nullptr);
}

TEST_F(CheckpointTest, RejectsDirectoryWithoutSafetensors) {
  expect_checkpoint_error(dir_.path(), dir_.path().string(), {"0 .safetensors files"});
}

}  // namespace
}  // namespace fptq::io
