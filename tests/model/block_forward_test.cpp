// The one-block model of streaming calibration/quantization (block_forward.h)
// on stories260K: its load errors name the block's real tensors (the view
// renames them blk.0.*), and embed_tokens refuses non-finite embeddings as
// the whole-model load does.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/block_forward.h"
#include "model/config.h"
#include "testing/testing.h"

namespace fptq::model {
namespace {

std::string stories_path() { return testing::shared_data("models/stories260K.gguf").string(); }

// A copy of `file` whose F32 tensor `name` has element `at` = NaN.
std::shared_ptr<const io::ModelFile> with_nan(std::shared_ptr<const io::ModelFile> file,
                                              const std::string& name, int64_t at) {
  auto copy = std::make_shared<io::ModelFile>(*file);
  copy->storage.push_back(file);
  for (io::TensorInfo& t : copy->tensors) {
    if (t.name != name) continue;
    EXPECT_EQ(t.type, io::GgmlType::F32) << name;
    auto bytes = std::make_shared<std::vector<uint8_t>>(t.data, t.data + t.nbytes);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(bytes->data() + at * 4, &nan, 4);
    t.data = bytes->data();
    copy->storage.push_back(bytes);
  }
  return copy;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(BlockForward, LoadErrorsNameTheBlocksTensors) {
  FPTQ_REQUIRE_FILE(stories_path());
  const auto file = with_nan(io::open_model(stories_path()), "blk.2.ffn_down.weight", 5);
  const LlamaConfig cfg = read_config(*file);
  ASSERT_GT(cfg.n_layer, 2);
  ThreadPool pool(1);
  EXPECT_NO_THROW(BlockModel(file, cfg, 1, pool));
  EXPECT_EQ(error_of([&] { BlockModel(file, cfg, 2, pool); }),
            "tensor 'blk.2.ffn_down.weight': element 5 is NaN (a F32 weight must be finite)");
}

TEST(BlockForward, BlockZeroErrorsUnchanged) {
  FPTQ_REQUIRE_FILE(stories_path());
  const auto file = with_nan(io::open_model(stories_path()), "blk.0.attn_norm.weight", 0);
  const LlamaConfig cfg = read_config(*file);
  ThreadPool pool(1);
  EXPECT_EQ(error_of([&] { BlockModel(file, cfg, 0, pool); }),
            "tensor 'blk.0.attn_norm.weight': element 0 is NaN (a F32 weight must be finite)");
}

TEST(BlockForward, EmbedTokensRefusesNonFiniteRows) {
  FPTQ_REQUIRE_FILE(stories_path());
  const auto good = io::open_model(stories_path());
  const LlamaConfig cfg = read_config(*good);
  const int64_t at = 7 * cfg.dim + 3;  // token 7, channel 3
  const auto file = with_nan(good, "token_embd.weight", at);
  std::vector<float> out(size_t(2 * cfg.dim));
  const std::vector<int32_t> fine = {6, 8};
  EXPECT_NO_THROW(embed_tokens(*file, cfg, fine, out.data()));
  const std::vector<int32_t> bad = {6, 7};
  EXPECT_EQ(error_of([&] { embed_tokens(*file, cfg, bad, out.data()); }),
            "tensor 'token_embd.weight': element " + std::to_string(at) +
                " is NaN (a F32 weight must be finite)");
}

TEST(BlockForward, EmbedTokensNamesAnUnreadableType) {
  FPTQ_REQUIRE_FILE(stories_path());
  const auto good = io::open_model(stories_path());
  const LlamaConfig cfg = read_config(*good);
  auto file = std::make_shared<io::ModelFile>(*good);
  for (io::TensorInfo& t : file->tensors)
    if (t.name == "token_embd.weight") t.type = io::GgmlType::Q2_K;
  std::vector<float> out(size_t(cfg.dim));
  const std::vector<int32_t> ids = {1};
  EXPECT_EQ(error_of([&] { embed_tokens(*file, cfg, ids, out.data()); }),
            "tensor 'token_embd.weight': type Q2_K cannot be dequantized");
}

}  // namespace
}  // namespace fptq::model
