// stories260K: greedy decoding from BOS reproduces the published continuation
// byte for byte (golden/stories260K-greedy-256.txt = the 256 tokens' text plus
// a final newline, as llama2.c prints it).
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "model/sampling.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::model {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<int32_t> read_ids(const std::filesystem::path& p) {
  std::istringstream in(read_file(p));
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

TEST(StoriesGreedy, Reproduces256TokenGolden) {
  const auto model_path = testing::shared_data("models/stories260K.gguf");
  const auto golden_path = testing::shared_data("golden/stories260K-greedy-256.txt");
  const auto ids_path = testing::shared_data("golden/stories260K-greedy-256-ids.txt");
  FPTQ_REQUIRE_FILE(model_path);
  FPTQ_REQUIRE_FILE(golden_path);
  ThreadPool pool(2);
  auto m = Model::load(model_path.string(), pool);
  auto tok = tok::Tokenizer::from_metadata(m->file().metadata, m->file().path);

  constexpr int kSteps = 256;
  std::vector<int32_t> ids = {tok->bos_id()};
  KvCache cache(m->config(), 1 + kSteps);
  std::vector<float> logits;
  m->forward(ids, cache, pool, Logits::last, logits);
  for (int i = 0; i < kSteps; ++i) {
    const int32_t next = argmax(logits);
    ASSERT_FALSE(tok->is_end_of_generation(next)) << "EOS at step " << i;
    ids.push_back(next);
    if (i + 1 < kSteps) m->forward(std::span(&ids.back(), 1), cache, pool, Logits::last, logits);
  }
  EXPECT_EQ(tok->decode(ids) + "\n", read_file(golden_path));
  // The argmax path is also the canonical tokenization of the golden text.
  EXPECT_EQ(ids, read_ids(ids_path));
}

}  // namespace
}  // namespace fptq::model
