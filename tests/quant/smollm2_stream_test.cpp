// Streaming (block-by-block) quantization of SmolLM2-135M gives the same
// statistics and the same bytes as the whole-model path. By default three
// schemes that cover every path (LAE folds with calibration inside the
// stream, GPTQ Hessians folded per block, SmoothQuant + int8 weights);
// FPTQ_STREAM_ALL_SCHEMES=1 runs all seven (minutes).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "io/model_file.h"
#include "pipeline_test_util.h"
#include "quant/scheme.h"
#include "stream_test_util.h"

namespace fptq::quant {
namespace {

namespace fs = std::filesystem;
using namespace testutil;

TEST(SmolLM2Stream, SameStatsAndBytesAsWholeModelForEveryScheme) {
  FPTQ_REQUIRE_FILE(testing::smollm2_path());
  ThreadPool pool(2);
  const auto file = io::open_model(testing::smollm2_path().string());
  CalibData data;
  CalibStatsSet stats;
  {
    const model::Model m(file, pool);
    const auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
    CalibOptions o;
    o.samples = 2;
    o.seqlen = 48;
    data = make_calib_data(*tok, m.config(), o);
    stats = calibrate(m, data, pool);
  }
  testing::TempDir dir;
  StreamOptions so;
  so.release_input_pages = true;
  const CalibStatsSet streamed = calibrate_streaming(file, data, (dir / "s.json").string(), pool, so);
  EXPECT_EQ(serialize_calib_stats(streamed), serialize_calib_stats(stats));
  std::vector<Scheme> schemes{Scheme::FptqPlus, Scheme::Fptq, Scheme::FptqGptq,
                              Scheme::W8A8SmoothQuant};
  if (const char* all = std::getenv("FPTQ_STREAM_ALL_SCHEMES"); all && std::string(all) == "1")
    schemes.assign(all_schemes().begin(), all_schemes().end());
  for (Scheme s : schemes) {
    SCOPED_TRACE(std::string(scheme_name(s)));
    const QuantizeOptions o = scheme_options(s);
    const fs::path a = dir / "whole.gguf", b = dir / "stream.gguf";
    quantize_model(file, stats, o, a.string(), pool, {}, &data);
    quantize_streaming(file, s == Scheme::Fptq ? nullptr : &stats, &data, o, b.string(), pool, so);
    const std::string want = file_bytes(a);
    ASSERT_FALSE(want.empty());
    EXPECT_TRUE(file_bytes(b) == want);
  }
}

}  // namespace
}  // namespace fptq::quant
