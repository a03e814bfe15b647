// Metadata typed getters, Value helpers and the ggml type table.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/ggml_blocks.h"
#include "io/ggml_types.h"
#include "io/metadata.h"

namespace fptq::io {
namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

Metadata sample() {
  Metadata md;
  md.add("n", Value::make_int(ValueType::U32, 30));
  md.add("neg", Value::make_int(ValueType::I32, -3));
  md.add("big", Value::make_int(ValueType::U64, int64_t(0x8000000000000000ull)));
  md.add("eps", Value::make_float(ValueType::F32, 1e-5));
  md.add("flag", Value::make_bool(true));
  md.add("name", Value::make_string("llama"));
  md.add("arr", Value::make_int_array(ValueType::I32, {1, 2, 3}));
  return md;
}

TEST(Metadata, TypedGetters) {
  const Metadata md = sample();
  EXPECT_EQ(md.get_int("n", "f"), 30);
  EXPECT_EQ(md.get_int("neg", "f"), -3);
  EXPECT_EQ(md.get_int("missing", 7, "f"), 7);
  EXPECT_FLOAT_EQ(float(md.get_float("eps", "f")), 1e-5f);
  EXPECT_DOUBLE_EQ(md.get_float("n", "f"), 30.0) << "ints are accepted as floats";
  EXPECT_DOUBLE_EQ(md.get_float("missing", 2.5, "f"), 2.5);
  EXPECT_TRUE(md.get_bool("flag", false, "f"));
  EXPECT_FALSE(md.get_bool("missing", false, "f"));
  EXPECT_EQ(md.get_string("name", "f"), "llama");
  EXPECT_EQ(md.get_string("missing", "dflt", "f"), "dflt");
  EXPECT_EQ(md.find("arr")->size(), 3u);
  EXPECT_EQ(md.find("name")->size(), 1u);
}

TEST(Metadata, GetterErrorsNameFileKeyAndTypes) {
  const Metadata md = sample();
  EXPECT_EQ(error_of([&] { md.get_int("missing", "m.gguf"); }), "m.gguf: missing key 'missing'");
  EXPECT_EQ(error_of([&] { md.get_int("name", "m.gguf"); }),
            "m.gguf: key 'name': expected an integer, found string");
  EXPECT_EQ(error_of([&] { md.get_int("arr", "m.gguf"); }),
            "m.gguf: key 'arr': expected an integer, found array of i32");
  EXPECT_EQ(error_of([&] { md.get_int("big", "m.gguf"); }),
            "m.gguf: key 'big': value 9223372036854775808 out of range");
  EXPECT_EQ(error_of([&] { md.get_float("name", "m.gguf"); }),
            "m.gguf: key 'name': expected a number, found string");
  EXPECT_EQ(error_of([&] { md.get_bool("n", true, "m.gguf"); }),
            "m.gguf: key 'n': expected a bool, found u32");
  EXPECT_EQ(error_of([&] { md.get_string("eps", "m.gguf"); }),
            "m.gguf: key 'eps': expected a string, found f32");
}

TEST(Metadata, KeysAreUniqueAndOrdered) {
  Metadata md = sample();
  EXPECT_EQ(error_of([&] { md.add("n", Value::make_bool(false)); }), "duplicate key 'n'");
  md.set("n", Value::make_int(ValueType::U32, 31));
  md.set("new", Value::make_string("x"));
  EXPECT_EQ(md.get_int("n", ""), 31);
  ASSERT_EQ(md.items().size(), 8u);
  EXPECT_EQ(md.items()[0].first, "n") << "set keeps the position";
  EXPECT_EQ(md.items()[7].first, "new");
  Metadata copy = md;  // the key index survives copies
  EXPECT_EQ(copy.get_string("new", ""), "x");
  EXPECT_FALSE(copy.contains("nope"));
}

TEST(GgmlTypes, TableMatchesBlockStructsAndSpec) {
  struct Expect {
    GgmlType t;
    int64_t elems, bytes;
    bool deq;
  };
  // Geometry from docs/formats.md and ggml's block definitions.
  const Expect table[] = {
      {GgmlType::F32, 1, 4, true},        {GgmlType::F16, 1, 2, true},
      {GgmlType::Q4_0, 32, sizeof(BlockQ4_0), true},
      {GgmlType::Q4_1, 32, sizeof(BlockQ4_1), true},
      {GgmlType::Q5_0, 32, sizeof(BlockQ5_0), true},
      {GgmlType::Q5_1, 32, sizeof(BlockQ5_1), true},
      {GgmlType::Q8_0, 32, sizeof(BlockQ8_0), true},
      {GgmlType::Q8_1, 32, 36, false},    {GgmlType::Q2_K, 256, 84, false},
      {GgmlType::Q3_K, 256, 110, false},
      {GgmlType::Q4_K, 256, sizeof(BlockQ4_K), true},
      {GgmlType::Q5_K, 256, sizeof(BlockQ5_K), true},
      {GgmlType::Q6_K, 256, sizeof(BlockQ6_K), true},
      {GgmlType::Q8_K, 256, 292, false},  {GgmlType::IQ4_NL, 32, 18, true},
      {GgmlType::I8, 1, 1, false},        {GgmlType::I16, 1, 2, false},
      {GgmlType::I32, 1, 4, false},       {GgmlType::I64, 1, 8, false},
      {GgmlType::F64, 1, 8, false},       {GgmlType::BF16, 1, 2, true},
  };
  for (const Expect& e : table) {
    const TypeInfo ti = type_info(e.t);
    SCOPED_TRACE(std::string(ti.name));
    EXPECT_EQ(ti.block_elems, e.elems);
    EXPECT_EQ(ti.block_bytes, e.bytes);
    EXPECT_EQ(ti.can_dequantize, e.deq);
    EXPECT_EQ(type_info(uint32_t(e.t))->name, ti.name);
  }
  EXPECT_EQ(type_info(GgmlType::Q4_0).name, "Q4_0");
  for (uint32_t unknown : {4u, 5u, 16u, 31u, 99u, 0xFFFFFFFFu})
    EXPECT_FALSE(type_info(unknown).has_value()) << unknown;
}

}  // namespace
}  // namespace fptq::io
