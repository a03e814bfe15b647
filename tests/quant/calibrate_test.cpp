// Calibration data and statistics on stories260K: seeded window draws from
// real text, the clamps (samples, seqlen, context length) reported, random
// tokens in range, provenance with the text's sha256, streamed statistics
// that match a direct observation, and stats/model mismatches rejected.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "core/error.h"
#include "core/sha256.h"
#include "pipeline_test_util.h"

namespace fptq::quant {
namespace {

using namespace testutil;

class Calibrate : public ::testing::Test {
 protected:
  void SetUp() override {
    FPTQ_REQUIRE_FILE(stories_path());
    file_ = io::open_model(stories_path());
    cfg_ = model::read_config(*file_);
    tok_ = tok::Tokenizer::from_metadata(file_->metadata, file_->path);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::shared_ptr<const io::ModelFile> file_;
  model::LlamaConfig cfg_;
  std::unique_ptr<tok::Tokenizer> tok_;
  testing::TempDir dir_;
};

std::string golden_text() {
  std::ifstream in(testing::shared_data("golden/stories260K-greedy-256.txt"), std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(Calibrate, TextWindowsAreSeededDistinctAndClamped) {
  const std::string text = golden_text();
  const std::string f = write("golden.txt", text);
  CalibOptions o;
  o.text_files = {f};
  o.samples = 100;
  o.seqlen = 32;
  const CalibData a = make_calib_data(*tok_, cfg_, o);
  const std::vector<int32_t> ids = tok_->encode(text, true);
  const int64_t windows = int64_t(ids.size()) / 32;
  EXPECT_EQ(a.provenance.samples, windows);
  EXPECT_EQ(int64_t(a.sequences.size()), windows);
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_NE(a.notes[0].find("samples 100 clamped"), std::string::npos) << a.notes[0];
  EXPECT_EQ(a.provenance.text_digest, sha256_hex(text));
  EXPECT_EQ(a.provenance.source, "text:" + f);
  // Each window is a distinct aligned slice of the token stream, BOS first.
  std::set<int64_t> starts;
  for (const auto& s : a.sequences) {
    ASSERT_EQ(s.size(), 32u);
    EXPECT_EQ(s[0], tok_->bos_id());
    bool found = false;
    for (int64_t w = 0; w < windows && !found; ++w) {
      if (std::equal(s.begin() + 1, s.end(), ids.begin() + w * 32 + 1)) {
        found = starts.insert(w).second;
      }
    }
    EXPECT_TRUE(found);
  }
  // Same seed: same draw; another seed: another order.
  o.samples = 4;
  const CalibData b = make_calib_data(*tok_, cfg_, o);
  EXPECT_EQ(b.sequences, make_calib_data(*tok_, cfg_, o).sequences);
  o.seed = 1;
  EXPECT_NE(b.sequences, make_calib_data(*tok_, cfg_, o).sequences);
}

TEST_F(Calibrate, SeqlenClampedToTextAndContext) {
  CalibOptions o;
  o.text_files = {write("short.txt", "Once upon a time there was a cat.")};
  o.samples = 3;
  o.seqlen = 400;
  const CalibData d = make_calib_data(*tok_, cfg_, o);
  EXPECT_EQ(d.provenance.samples, 1);
  EXPECT_LT(d.provenance.seqlen, 20);
  EXPECT_EQ(d.notes.size(), 2u);
  CalibOptions r;  // random tokens, seqlen beyond the model's context (2048 in its metadata)
  r.samples = 2;
  r.seqlen = 4096;
  ASSERT_EQ(cfg_.context_length, 2048);
  const CalibData rd = make_calib_data(*tok_, cfg_, r);
  EXPECT_EQ(rd.provenance.seqlen, 2048);
  EXPECT_EQ(rd.provenance.source, "random");
  EXPECT_EQ(rd.provenance.text_digest, "");
  ASSERT_EQ(rd.notes.size(), 1u);
  EXPECT_NE(rd.notes[0].find("context length 2048"), std::string::npos);
  std::set<int32_t> seen;
  for (const auto& s : rd.sequences) {
    EXPECT_EQ(s[0], tok_->bos_id());
    for (int32_t t : s) {
      EXPECT_GE(t, 0);
      EXPECT_LT(t, cfg_.n_vocab);
      seen.insert(t);
    }
  }
  EXPECT_GT(seen.size(), 500u);  // 8192 uniform draws over 512 ids cover all but ~0
}

TEST_F(Calibrate, BadOptionsAndFiles) {
  CalibOptions o;
  o.samples = 0;
  EXPECT_THROW(make_calib_data(*tok_, cfg_, o), Error);
  o.samples = 1;
  o.seqlen = 1;
  EXPECT_THROW(make_calib_data(*tok_, cfg_, o), Error);
  o.seqlen = 16;
  o.text_files = {(dir_ / "missing.txt").string()};
  EXPECT_THROW(make_calib_data(*tok_, cfg_, o), Error);
  o.text_files = {write("empty.txt", "")};
  EXPECT_THROW(make_calib_data(*tok_, cfg_, o), Error);
}

TEST_F(Calibrate, StatsMatchADirectObservationAndTheModel) {
  ThreadPool pool(2);
  const model::Model m(file_, pool);
  CalibOptions o;
  o.samples = 2;
  o.seqlen = 64;
  const CalibData d = make_calib_data(*tok_, cfg_, o);
  const CalibStatsSet s = calibrate(m, d, pool);
  EXPECT_EQ(s.points.size(), size_t(cfg_.n_layer * 4));
  EXPECT_EQ(s.provenance.samples, 2);
  // Direct: record blk.2.ffn_down_in by hand.
  struct Grab : model::Observer {
    ChannelStats st{172};
    void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                         int64_t cols) override {
      if (p.name == "blk.2.ffn_down_in") st.observe(std::span<const float>(x, size_t(rows * cols)));
    }
  } grab;
  std::vector<float> logits;
  for (const auto& seq : d.sequences) {
    model::KvCache cache(cfg_, int64_t(seq.size()));
    m.forward(seq, cache, pool, model::Logits::last, logits, &grab);
  }
  EXPECT_EQ(grab.st.max_abs(), s.points.at("blk.2.ffn_down_in").max_abs());
  EXPECT_EQ(grab.st.tokens(), 128);
  EXPECT_NO_THROW(check_stats_match(s, cfg_, "stats"));
  model::LlamaConfig other = cfg_;
  other.ffn_dim = 256;
  EXPECT_THROW(check_stats_match(s, other, "stats"), Error);
  other = cfg_;
  other.n_layer = 4;
  EXPECT_THROW(check_stats_match(s, other, "stats"), Error);  // blk.4.* unknown
  // Round trip through the stats file format, and the provenance rebuilds the run.
  const CalibStatsSet back = parse_calib_stats(serialize_calib_stats(s), "mem");
  EXPECT_EQ(serialize_calib_stats(back), serialize_calib_stats(s));
  const CalibOptions again = calib_options_from_provenance(back.provenance);
  EXPECT_EQ(make_calib_data(*tok_, cfg_, again).sequences, d.sequences);
}

}  // namespace
}  // namespace fptq::quant
