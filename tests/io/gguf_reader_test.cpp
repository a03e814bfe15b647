// read_gguf / open_model on the real model files.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/model_file.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {

TEST(GgufReader, Stories260KMetadataAndTensors) {
  const auto path = fptq::testing::shared_data("models/stories260K.gguf");
  FPTQ_REQUIRE_FILE(path);
  auto m = read_gguf(path.string());
  EXPECT_EQ(m->format, "gguf");
  EXPECT_EQ(m->gguf_version, 3u);
  EXPECT_EQ(m->alignment, 32u);
  const std::string w = m->path;
  EXPECT_EQ(m->metadata.items().size(), 19u);
  EXPECT_EQ(m->metadata.get_string("general.architecture", w), "llama");
  EXPECT_EQ(m->metadata.get_int("llama.block_count", w), 5);
  EXPECT_EQ(m->metadata.get_int("llama.embedding_length", w), 64);
  EXPECT_EQ(m->metadata.get_int("llama.feed_forward_length", w), 172);
  EXPECT_EQ(m->metadata.get_int("llama.attention.head_count", w), 8);
  EXPECT_EQ(m->metadata.get_int("llama.attention.head_count_kv", w), 4);
  EXPECT_FLOAT_EQ(float(m->metadata.get_float("llama.attention.layer_norm_rms_epsilon", w)),
                  1e-5f);
  EXPECT_DOUBLE_EQ(m->metadata.get_float("llama.rope.freq_base", 10000.0, w), 10000.0);
  EXPECT_EQ(m->metadata.get_string("tokenizer.ggml.model", w), "llama");
  const Value* tokens = m->metadata.find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_TRUE(tokens->is_array());
  EXPECT_EQ(tokens->elem_type, ValueType::STRING);
  EXPECT_EQ(tokens->size(), 512u);
  const Value* scores = m->metadata.find("tokenizer.ggml.scores");
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->elem_type, ValueType::F32);
  EXPECT_EQ(scores->floats.size(), 512u);

  // 5 layers x 9 weights + token_embd + output_norm + output.
  ASSERT_EQ(m->tensors.size(), 48u);
  const TensorInfo& emb = m->tensor("token_embd.weight");
  EXPECT_EQ(emb.type, GgmlType::F32);
  EXPECT_EQ(emb.ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb.n_elements(), 64 * 512);
  EXPECT_EQ(emb.rows(), 512);
  EXPECT_EQ(emb.row_elems(), 64);
  EXPECT_EQ(emb.nbytes, 64u * 512u * 4u);
  EXPECT_EQ(emb.offset, 0u);
  const TensorInfo& out = m->tensor("output.weight");
  ASSERT_EQ(out.nbytes, emb.nbytes);
  EXPECT_EQ(std::memcmp(out.data, emb.data, emb.nbytes), 0) << "README: output is a copy";
  EXPECT_NE(out.data, emb.data);
  const TensorInfo& norm = m->tensor("output_norm.weight");
  EXPECT_EQ(norm.ne, (std::vector<int64_t>{64}));
  EXPECT_EQ(norm.rows(), 1);
  // The data section starts aligned; each tensor's data is inside the mapping.
  const uint8_t* data0 = emb.data;
  for (const TensorInfo& t : m->tensors) {
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    EXPECT_EQ(t.data, data0 + t.offset) << t.name;
  }
  EXPECT_EQ(m->find_tensor("nope"), nullptr);
  try {
    m->tensor("nope");
    FAIL() << "expected fptq::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("stories260K.gguf"), std::string::npos) << e.what();
  }
}

TEST(GgufReader, OpenModelDispatchesOnFileAndDirectory) {
  const auto path = fptq::testing::shared_data("models/stories260K.gguf");
  FPTQ_REQUIRE_FILE(path);
  EXPECT_EQ(open_model(path.string())->tensors.size(), 48u);
  fptq::testing::TempDir dir;
  EXPECT_THROW(open_model((dir / "missing.gguf").string()), Error);
}

TEST(GgufReader, SmolLM2Q4_1) {
  const auto path = fptq::testing::smollm2_path();
  if (path.empty()) GTEST_SKIP() << "SmolLM2 not fetched (scripts/fetch_model.sh)";
  const auto t0 = std::chrono::steady_clock::now();
  auto m = read_gguf(path.string());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::string w = m->path;
  EXPECT_EQ(m->tensors.size(), 272u);
  EXPECT_EQ(m->metadata.items().size(), 33u);
  EXPECT_EQ(m->metadata.get_int("llama.block_count", w), 30);
  EXPECT_EQ(m->metadata.get_int("llama.embedding_length", w), 576);
  EXPECT_EQ(m->metadata.get_int("llama.attention.head_count", w), 9);
  EXPECT_EQ(m->metadata.get_int("llama.attention.head_count_kv", w), 3);
  EXPECT_DOUBLE_EQ(m->metadata.get_float("llama.rope.freq_base", w), 100000.0);
  EXPECT_EQ(m->metadata.get_string("tokenizer.ggml.model", w), "gpt2");
  EXPECT_EQ(m->metadata.get_string("tokenizer.ggml.pre", w), "smollm");
  EXPECT_FALSE(m->metadata.get_bool("tokenizer.ggml.add_bos_token", true, w));
  EXPECT_FALSE(m->metadata.get_bool("tokenizer.ggml.add_space_prefix", true, w));
  EXPECT_EQ(m->metadata.find("tokenizer.ggml.tokens")->size(), 49152u);
  EXPECT_EQ(m->metadata.find("tokenizer.ggml.merges")->size(), 48900u);
  EXPECT_EQ(m->metadata.find("tokenizer.ggml.token_type")->ints.size(), 49152u);
  const TensorInfo& emb = m->tensor("token_embd.weight");
  EXPECT_EQ(emb.type, GgmlType::Q8_0);
  EXPECT_EQ(emb.ne, (std::vector<int64_t>{576, 49152}));
  EXPECT_EQ(emb.nbytes, uint64_t(49152) * (576 / 32) * 34);
  const TensorInfo& down = m->tensor("blk.0.ffn_down.weight");
  EXPECT_EQ(down.type, GgmlType::Q4_1);
  EXPECT_EQ(down.ne, (std::vector<int64_t>{1536, 576}));
  EXPECT_EQ(down.nbytes, uint64_t(576) * (1536 / 32) * 20);
  EXPECT_EQ(m->find_tensor("output.weight"), nullptr) << "tied embeddings";
  int q41 = 0, f32 = 0;
  for (const TensorInfo& t : m->tensors) {
    q41 += t.type == GgmlType::Q4_1;
    f32 += t.type == GgmlType::F32;
  }
  EXPECT_EQ(q41, 210);
  EXPECT_EQ(f32, 61);
  // Memory-mapped, so loading is dominated by the 98k vocabulary strings.
  RecordProperty("load_ms", std::to_string(ms));
  EXPECT_LT(ms, 2000.0) << "generous bound for sanitizer builds";
}

}  // namespace
}  // namespace fptq::io
