// LlamaConfig from real GGUF metadata, and rejection of inconsistent configs
// (each built by editing one key of the real stories260K file's metadata).
#include <memory>
#include <string>

#include "core/error.h"
#include "io/model_file.h"
#include "model/config.h"
#include "model/weights.h"
#include "testing/testing.h"

namespace fptq::model {
namespace {

std::string stories_path() { return testing::shared_data("models/stories260K.gguf").string(); }

TEST(Config, Stories260K) {
  FPTQ_REQUIRE_FILE(stories_path());
  auto file = io::open_model(stories_path());
  const LlamaConfig c = read_config(*file);
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_layer, 5);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.ffn_dim, 172);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_kv_head, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.n_rot, 8);
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.group_size(), 2);
  EXPECT_DOUBLE_EQ(c.rope_freq_base, 10000.0);  // key absent: the llama default
  EXPECT_FALSE(c.tied_output);
  EXPECT_FALSE(c.has_qkv_bias);
  EXPECT_EQ(c.rope_style, RopeStyle::normal);
}

TEST(Weights, VisitorListsEveryTensorOfTheFileOnce) {
  FPTQ_REQUIRE_FILE(stories_path());
  auto file = io::open_model(stories_path());
  const LlamaConfig c = read_config(*file);
  int64_t n = 0, linear = 0;
  for_each_weight(c, [&](const WeightSpec& w) {
    ++n;
    linear += w.is_linear();
    ASSERT_NE(file->find_tensor(w.name), nullptr) << w.name;
  });
  EXPECT_EQ(n, int64_t(file->tensors.size()));  // 1 + 5·9 + 2
  EXPECT_EQ(linear, 5 * 7 + 1);
}

TEST(Weights, TiedOutputWhenOutputWeightIsAbsent) {
  FPTQ_REQUIRE_FILE(stories_path());
  auto edited = std::make_shared<io::ModelFile>(*io::open_model(stories_path()));
  std::erase_if(edited->tensors, [](const io::TensorInfo& t) { return t.name == "output.weight"; });
  const LlamaConfig c = read_config(*edited);
  EXPECT_TRUE(c.tied_output);
  int64_t n = 0;
  for_each_weight(c, [&](const WeightSpec& w) {
    ++n;
    EXPECT_NE(w.role, WeightRole::output);
  });
  EXPECT_EQ(n, 47);
}

// read_config on stories260K with one metadata key replaced must throw an
// fptq::Error that names the file and contains `needle`.
void expect_rejected(const std::string& key, io::Value v, const std::string& needle) {
  io::ModelFile edited = *io::open_model(stories_path());
  edited.metadata.set(key, std::move(v));
  try {
    read_config(edited);
    ADD_FAILURE() << key << ": accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(stories_path()), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(Config, RejectsInconsistentHyperparameters) {
  FPTQ_REQUIRE_FILE(stories_path());
  using io::Value, io::ValueType;
  expect_rejected("llama.attention.head_count", Value::make_int(ValueType::U32, 7), "multiple");
  expect_rejected("llama.attention.head_count_kv", Value::make_int(ValueType::U32, 3), "multiple");
  expect_rejected("llama.rope.dimension_count", Value::make_int(ValueType::U32, 7), "even");
  expect_rejected("llama.rope.dimension_count", Value::make_int(ValueType::U32, 16), "head_dim");
  expect_rejected("llama.block_count", Value::make_int(ValueType::U32, 0), "positive");
  expect_rejected("llama.block_count", Value::make_int(ValueType::U32, 6), "blk.5");
  expect_rejected("llama.embedding_length", Value::make_int(ValueType::U32, 128), "shape");
  expect_rejected("llama.feed_forward_length", Value::make_int(ValueType::U32, 176), "ffn_gate");
  expect_rejected("llama.vocab_size", Value::make_int(ValueType::U32, 500), "vocab_size");
  expect_rejected("general.architecture", Value::make_string("gpt2"), "unsupported");
}

}  // namespace
}  // namespace fptq::model
