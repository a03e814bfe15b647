// GgufWriter: round trip through read_gguf, an independent read by the
// Python gguf package, atomic replacement, and rejection of bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <sys/resource.h>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

// Every value type as a scalar and as an array, plus awkward strings.
void add_all_kv(GgufWriter& w) {
  w.add("general.architecture", Value::make_string("llama"));
  w.add("t.u8", Value::make_int(ValueType::U8, 255));
  w.add("t.i8", Value::make_int(ValueType::I8, -128));
  w.add("t.u16", Value::make_int(ValueType::U16, 65535));
  w.add("t.i16", Value::make_int(ValueType::I16, -32768));
  w.add("t.u32", Value::make_int(ValueType::U32, 4294967295LL));
  w.add("t.i32", Value::make_int(ValueType::I32, -2147483647LL - 1));
  w.add("t.u64", Value::make_int(ValueType::U64, int64_t(0xFFFFFFFFFFFFFFF0ull)));  // bit-cast
  w.add("t.i64", Value::make_int(ValueType::I64, INT64_MIN));
  w.add("t.f32", Value::make_float(ValueType::F32, 0.1f));
  w.add("t.f64", Value::make_float(ValueType::F64, 0.1));
  w.add("t.bool", Value::make_bool(true));
  w.add("t.str.empty", Value::make_string(""));
  w.add("t.str.bytes", Value::make_string(std::string("a\0b\xff\xc3\xa9", 6)));
  w.add("t.arr.u8", Value::make_int_array(ValueType::U8, {0, 1, 255}));
  w.add("t.arr.i32", Value::make_int_array(ValueType::I32, {-5, 7}));
  w.add("t.arr.u64", Value::make_int_array(ValueType::U64, {1, 1LL << 40}));
  w.add("t.arr.bool", Value::make_int_array(ValueType::BOOL, {1, 0, 1}));
  w.add("t.arr.f32", Value::make_float_array(ValueType::F32, {1.5, -0.25}));
  w.add("t.arr.f64", Value::make_float_array(ValueType::F64, {1e300}));
  w.add("t.arr.str", Value::make_string_array({"<s>", "", "\xe2\x96\x81the"}));
  w.add("t.arr.empty", Value::make_int_array(ValueType::I32, {}));
}

struct TensorSpec {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
  size_t nbytes;
};

const std::vector<TensorSpec>& tensor_specs() {
  static const std::vector<TensorSpec> specs = {
      {"token_embd.weight", GgmlType::Q8_0, {64, 3}, 3 * 2 * 34},
      {"output_norm.weight", GgmlType::F32, {5}, 20},  // 20 bytes: next offset needs padding
      {"blk.0.attn_q.weight", GgmlType::Q4_0, {32, 2, 2}, 4 * 18},
      {"blk.0.ffn_down.weight", GgmlType::Q6_K, {256, 1, 1, 2}, 2 * 210},
      {"scalar", GgmlType::F32, {}, 4},
      {"half", GgmlType::F16, {3}, 6},
  };
  return specs;
}

void add_tensors(GgufWriter& w, std::vector<std::vector<uint8_t>>* kept) {
  uint32_t seed = 1;
  for (const TensorSpec& s : tensor_specs()) {
    kept->push_back(random_bytes(s.nbytes, seed++));
    if (seed % 2) w.add_tensor(s.name, s.type, s.ne, kept->back());
    else w.add_tensor_view(s.name, s.type, s.ne, kept->back().data(), kept->back().size());
  }
}

bool same_value(const Value& a, const Value& b) {
  if (a.type != b.type || a.is_array() != b.is_array()) return false;
  if (a.is_array() && a.elem_type != b.elem_type) return false;
  if (a.ints != b.ints || a.strings != b.strings || a.floats.size() != b.floats.size())
    return false;
  for (size_t i = 0; i < a.floats.size(); ++i) {
    // F32 values are stored rounded to float.
    const bool f32 = a.scalar_type() == ValueType::F32;
    if (f32 ? float(a.floats[i]) != float(b.floats[i]) : a.floats[i] != b.floats[i]) return false;
  }
  return true;
}

TEST(GgufWriter, RoundTripPreservesMetadataAndTensorBytes) {
  fptq::testing::TempDir dir;
  for (uint64_t alignment : {32u, 64u, 1u}) {
    GgufWriter w(alignment);
    add_all_kv(w);
    std::vector<std::vector<uint8_t>> kept;
    add_tensors(w, &kept);
    const std::string path = (dir / ("rt" + std::to_string(alignment) + ".gguf")).string();
    w.write(path);
    auto m = read_gguf(path);
    EXPECT_EQ(m->gguf_version, 3u);
    EXPECT_EQ(m->alignment, alignment);
    ASSERT_EQ(m->metadata.items().size(), w.metadata().items().size());
    for (size_t i = 0; i < m->metadata.items().size(); ++i) {
      const auto& [k1, v1] = w.metadata().items()[i];
      const auto& [k2, v2] = m->metadata.items()[i];
      EXPECT_EQ(k1, k2);
      EXPECT_TRUE(same_value(v1, v2)) << k1;
    }
    EXPECT_EQ(m->metadata.contains("general.alignment"), alignment != 32);
    // A u64 above INT64_MAX is kept bit-cast; get_int refuses it with a clear error.
    EXPECT_EQ(uint64_t(m->metadata.find("t.u64")->ints[0]), 0xFFFFFFFFFFFFFFF0ull);
    EXPECT_THROW(m->metadata.get_int("t.u64", path), Error);
    ASSERT_EQ(m->tensors.size(), tensor_specs().size());
    for (size_t i = 0; i < m->tensors.size(); ++i) {
      const TensorInfo& t = m->tensors[i];
      const TensorSpec& s = tensor_specs()[i];
      EXPECT_EQ(t.name, s.name);
      EXPECT_EQ(t.type, s.type) << s.name;
      EXPECT_EQ(t.ne, s.ne) << s.name;
      EXPECT_EQ(t.offset % alignment, 0u) << s.name;
      ASSERT_EQ(t.nbytes, kept[i].size()) << s.name;
      EXPECT_EQ(std::memcmp(t.data, kept[i].data(), t.nbytes), 0) << s.name;
    }
    EXPECT_EQ(m->tensor("scalar").n_elements(), 1);
    // The file ends with the padded last tensor.
    EXPECT_EQ(fs::file_size(path) % alignment, 0u);
  }
}

TEST(GgufWriter, RewritesAReadFileIdentically) {
  const auto src = fptq::testing::shared_data("models/stories260K.gguf");
  FPTQ_REQUIRE_FILE(src);
  auto m = read_gguf(src.string());
  GgufWriter w(m->alignment);
  for (const auto& [k, v] : m->metadata.items()) w.add(k, v);
  for (const TensorInfo& t : m->tensors) w.add_tensor_view(t.name, t.type, t.ne, t.data, t.nbytes);
  fptq::testing::TempDir dir;
  const std::string out = (dir / "copy.gguf").string();
  w.write(out);
  // llama.cpp's writer lays the file out the same way, so the bytes match.
  std::ifstream a(src, std::ios::binary), b(out, std::ios::binary);
  const std::string sa((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
  const std::string sb((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
  EXPECT_EQ(sa.size(), sb.size());
  EXPECT_TRUE(sa == sb) << "rewritten stories260K differs from the original";
}

bool python_gguf_available() {
  return std::system("python3 -c 'import numpy, gguf' >/dev/null 2>&1") == 0;
}

TEST(GgufWriter, PythonGgufPackageReadsOurOutput) {
  if (!python_gguf_available()) GTEST_SKIP() << "python3 with numpy + gguf not available";
  fptq::testing::TempDir dir;
  GgufWriter w(64);
  add_all_kv(w);
  std::vector<std::vector<uint8_t>> kept;
  add_tensors(w, &kept);
  const std::string path = (dir / "py.gguf").string();
  w.write(path);
  const std::string json_path = (dir / "py.json").string();
  const std::string cmd = "python3 " +
                          (fs::path(__FILE__).parent_path() / "py_gguf_dump.py").string() +
                          " " + path + " " + json_path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(json_path);
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["alignment"].get<int>(), 64);
  const auto& kv = j["kv"];
  ASSERT_EQ(kv.size(), w.metadata().items().size());
  for (size_t i = 0; i < kv.size(); ++i) {
    const auto& [key, v] = w.metadata().items()[i];
    SCOPED_TRACE(key);
    EXPECT_EQ(kv[i]["key"].get<std::string>(), key);
    EXPECT_EQ(kv[i]["type"].get<uint32_t>(), uint32_t(v.type));
    if (v.is_array()) {
      if (kv[i]["elem_type"].is_null()) {
        EXPECT_EQ(v.size(), 0u) << "gguf-py omits the element type of empty arrays only";
      } else {
        EXPECT_EQ(kv[i]["elem_type"].get<uint32_t>(), uint32_t(v.elem_type));
      }
    }
    const ValueType t = v.scalar_type();
    std::vector<nlohmann::json> got;
    if (v.is_array()) {
      for (const auto& e : kv[i]["value"]) got.push_back(e);
    } else {
      got.push_back(kv[i]["value"]);
    }
    ASSERT_EQ(got.size(), v.size());
    for (size_t e = 0; e < got.size(); ++e) {
      if (t == ValueType::STRING) {
        const std::vector<uint8_t> bytes = got[e].get<std::vector<uint8_t>>();
        EXPECT_EQ(std::string(bytes.begin(), bytes.end()), v.strings[e]);
      } else if (t == ValueType::F32) {
        EXPECT_EQ(got[e].get<float>(), float(v.floats[e]));
      } else if (t == ValueType::F64) {
        EXPECT_EQ(got[e].get<double>(), v.floats[e]);
      } else if (t == ValueType::U64) {
        EXPECT_EQ(got[e].get<uint64_t>(), uint64_t(v.ints[e]));
      } else if (t == ValueType::BOOL) {
        EXPECT_EQ(got[e].get<bool>(), v.ints[e] != 0);
      } else {
        EXPECT_EQ(got[e].get<int64_t>(), v.ints[e]);
      }
    }
  }
  const auto& tensors = j["tensors"];
  ASSERT_EQ(tensors.size(), tensor_specs().size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec& s = tensor_specs()[i];
    EXPECT_EQ(tensors[i]["name"].get<std::string>(), s.name);
    EXPECT_EQ(tensors[i]["type"].get<uint32_t>(), uint32_t(s.type));
    std::vector<int64_t> ne = tensors[i]["ne"].get<std::vector<int64_t>>();
    EXPECT_EQ(ne, s.ne) << s.name;
    std::string hex;
    for (uint8_t b : kept[i]) hex += fmt::format("{:02x}", b);
    EXPECT_EQ(tensors[i]["data_hex"].get<std::string>(), hex) << s.name;
  }
}

std::vector<std::string> folder_listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

TEST(GgufWriter, ReplacesAnExistingFile) {
  fptq::testing::TempDir dir;
  const fs::path p = dir / "m.gguf";
  std::ofstream(p) << "old contents";
  GgufWriter w;
  w.add("general.architecture", Value::make_string("llama"));
  w.write(p.string());
  EXPECT_EQ(read_gguf(p.string())->metadata.get_string("general.architecture", ""), "llama");
  EXPECT_EQ(folder_listing(dir.path()), (std::vector<std::string>{"m.gguf"}));
  EXPECT_EQ(fs::status(p).permissions() & fs::perms::owner_read, fs::perms::owner_read);
}

TEST(GgufWriter, FailedRenameLeavesNoTempFile) {
  fptq::testing::TempDir dir;
  fs::create_directory(dir / "target.gguf");  // rename(2) onto a non-empty folder fails
  std::ofstream(dir / "target.gguf" / "keep") << "x";
  GgufWriter w;
  w.add("k", Value::make_int(ValueType::U32, 1));
  try {
    w.write((dir / "target.gguf").string());
    FAIL() << "expected fptq::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target.gguf"), std::string::npos) << e.what();
  }
  EXPECT_EQ(folder_listing(dir.path()), (std::vector<std::string>{"target.gguf"}));
}

TEST(GgufWriter, MissingFolderFailsWithError) {
  fptq::testing::TempDir dir;
  GgufWriter w;
  const std::string p = (dir / "no" / "such" / "m.gguf").string();
  try {
    w.write(p);
    FAIL() << "expected fptq::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// A write that fails half-way (file size limit -> EFBIG) must keep the
// previous file byte for byte and leave no temp file behind.
TEST(GgufWriter, FailedWriteKeepsPreviousFile) {
  fptq::testing::TempDir dir;
  const fs::path p = dir / "m.gguf";
  std::ofstream(p) << "previous version";
  GgufWriter w;
  w.add_tensor("big", GgmlType::F32, {1 << 16}, std::vector<uint8_t>(4 << 16, 7));
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string msg;
  try {
    w.write(p.string());
  } catch (const Error& e) {
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find("m.gguf"), std::string::npos) << "expected an error, got '" << msg << "'";
  EXPECT_EQ(slurp(p), "previous version");
  EXPECT_EQ(folder_listing(dir.path()), (std::vector<std::string>{"m.gguf"}));
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(GgufWriter, RejectsBadInput) {
  GgufWriter w;
  w.add("a", Value::make_int(ValueType::U32, 1));
  w.add_tensor("t", GgmlType::F32, {2}, std::vector<uint8_t>(8));
  EXPECT_NE(error_of([&] { w.add("a", Value::make_bool(true)); }).find("duplicate key 'a'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add("", Value::make_bool(true)); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("u8", Value::make_int(ValueType::U8, 256)); }).find("'u8'"),
            std::string::npos);
  Value mixed = Value::make_string("x");
  mixed.ints.push_back(1);
  EXPECT_NE(error_of([&] { w.add("m", mixed); }).find("'m'"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("t", GgmlType::F32, {2}, std::vector<uint8_t>(8)); })
                .find("duplicate tensor name 't'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("u", GgmlType::F32, {3}, std::vector<uint8_t>(8)); })
                .find("'u': 8 bytes given"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("q", GgmlType::Q4_0, {16}, std::vector<uint8_t>(9)); })
                .find("block size 32"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("z", GgmlType::F32, {0}, {}); }).find("not positive"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add_tensor("d", GgmlType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4));
            }).find("5 dims"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add_tensor(std::string(64, 'n'), GgmlType::F32, {1}, std::vector<uint8_t>(4));
            }).find("exceeds 63"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.set_alignment(48); }).find("48"), std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add("general.alignment", Value::make_int(ValueType::U64, 64));
            }).find("u32"),
            std::string::npos);
  EXPECT_EQ(w.n_tensors(), 1u);
}

}  // namespace
}  // namespace fptq::io
