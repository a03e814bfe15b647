// The fixture of the quantizer tests on stories260K: the model file, its
// calibration sequences (random tokens, seed 0) and their statistics,
// loaded once per suite. kSamples × kSeqlen sizes the calibration.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/model.h"
#include "pipeline_test_util.h"
#include "quant/calib_stats.h"
#include "quant/calibrate.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::quant::testutil {

template <int64_t kSamples, int64_t kSeqlen>
class StoriesQuantTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(stories_path())) return;
    ThreadPool pool(2);
    file_ = io::open_model(stories_path());
    const model::Model m(file_, pool);
    const auto tok = tok::Tokenizer::from_metadata(file_->metadata, file_->path);
    CalibOptions o;
    o.samples = kSamples;
    o.seqlen = kSeqlen;
    data_ = new CalibData(make_calib_data(*tok, m.config(), o));
    stats_ = new CalibStatsSet(calibrate(m, *data_, pool));
  }
  static void TearDownTestSuite() {
    delete stats_;
    delete data_;
    stats_ = nullptr;
    data_ = nullptr;
    file_.reset();
  }
  void SetUp() override { FPTQ_REQUIRE_FILE(stories_path()); }

  static inline std::shared_ptr<const io::ModelFile> file_;
  // Raw pointers: the tests pass them where the API takes optional inputs.
  static inline CalibData* data_ = nullptr;
  static inline CalibStatsSet* stats_ = nullptr;
  testing::TempDir dir_;
};

}  // namespace fptq::quant::testutil
