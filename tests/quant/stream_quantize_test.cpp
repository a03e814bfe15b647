// Streaming (block-by-block) calibration and quantization on stories260K:
// the same statistics and the same output bytes as the whole-model path for
// every scheme, and --resume after an interruption gives the same bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/model_file.h"
#include "model/block_forward.h"
#include "core/sha256.h"
#include "quant/scheme.h"
#include "stories_quant_fixture.h"
#include "stream_test_util.h"

namespace fptq::quant {
namespace {

namespace fs = std::filesystem;
using namespace testutil;

// 3 × 96-token calibration: enough for every scheme, fast enough to
// quantize many times.
class StreamQuantize : public StoriesQuantTest<3, 96> {};

TEST_F(StreamQuantize, BlockForwardEqualsWholeModel) {
  // The hidden states after every block, run block by block, give the same
  // statistics as the full forward pass: compared through calibration.
  ThreadPool pool(2);
  StreamOptions so;
  so.release_input_pages = true;
  const CalibStatsSet s = calibrate_streaming(file_, *data_, (dir_ / "s.json").string(), pool, so);
  EXPECT_EQ(serialize_calib_stats(s), serialize_calib_stats(*stats_));
  EXPECT_FALSE(fs::exists(dir_ / "s.json.fptq-partial"));  // work folder removed
}

TEST_F(StreamQuantize, SameBytesAsWholeModelForEveryScheme) {
  ThreadPool pool(2);
  for (Scheme s : all_schemes()) {
    SCOPED_TRACE(std::string(scheme_name(s)));
    const QuantizeOptions o = scheme_options(s);
    const fs::path a = dir_ / "whole.gguf", b = dir_ / "stream.gguf", c = dir_ / "stream2.gguf";
    const QuantizeReport ra = quantize_model(file_, *stats_, o, a.string(), pool, {}, data_);
    // Statistics given (the --stats path) ...
    const QuantizeReport rb =
        quantize_streaming(file_, stats_, data_, o, b.string(), pool, StreamOptions{});
    // ... and calibrated inside, block by block (the --calib path), 1 thread.
    ThreadPool one(1);
    CalibStatsSet got;
    quantize_streaming(file_, nullptr, data_, o, c.string(), one, StreamOptions{}, &got);
    const std::string want = file_bytes(a);
    ASSERT_FALSE(want.empty());
    EXPECT_TRUE(file_bytes(b) == want);
    EXPECT_TRUE(file_bytes(c) == want);
    EXPECT_EQ(serialize_calib_stats(got), serialize_calib_stats(*stats_));
    EXPECT_EQ(rb.file_bytes, ra.file_bytes);
    ASSERT_EQ(rb.tensors.size(), ra.tensors.size());
    for (size_t i = 0; i < ra.tensors.size(); ++i) {
      EXPECT_EQ(rb.tensors[i].name, ra.tensors[i].name);
      EXPECT_EQ(rb.tensors[i].nmse, ra.tensors[i].nmse);
      EXPECT_EQ(rb.tensors[i].note, ra.tensors[i].note);
    }
    EXPECT_EQ(rb.notes, ra.notes);
    EXPECT_FALSE(fs::exists(dir_ / "stream.gguf.fptq-partial"));
  }
}

// The IQ4_NL grid (+nl) and the per-tensor grid choice (+grid): the same
// bytes streamed as whole-model; +nl writes every int4 linear weight as
// IQ4_NL, +grid writes each as Q4_0 or IQ4_NL, and a resume with another
// grid is refused.
TEST_F(StreamQuantize, NlGridsSameBytesAsWholeModel) {
  ThreadPool pool(2);
  for (const char* recipe : {"fptq-plus+nl", "fptq-plus+grid"}) {
    SCOPED_TRACE(recipe);
    const QuantizeOptions o = recipe_options(recipe);
    const fs::path a = dir_ / "whole.gguf", b = dir_ / "stream.gguf";
    const QuantizeReport ra = quantize_model(file_, *stats_, o, a.string(), pool, {}, data_);
    const QuantizeReport rb =
        quantize_streaming(file_, stats_, data_, o, b.string(), pool, StreamOptions{});
    EXPECT_TRUE(file_bytes(a) == file_bytes(b));
    int nl = 0, q4 = 0;
    for (const TensorResult& t : ra.tensors) {
      if (!t.linear) continue;
      nl += t.type == io::GgmlType::IQ4_NL;
      q4 += t.type == io::GgmlType::Q4_0;
    }
    int nl_in_file = 0;
    const auto written = io::open_model(a.string());  // held: the loop reads its tensors
    for (const auto& t : written->tensors) nl_in_file += t.type == io::GgmlType::IQ4_NL;
    EXPECT_EQ(nl_in_file, nl);
    // A grid choice is the recipe, not a fallback.
    for (const TensorResult* t : ra.fallbacks()) EXPECT_FALSE(io::is_int4_type(t->type)) << t->name;
    if (std::string(recipe) == "fptq-plus+nl") {
      EXPECT_GT(nl, 0);
      EXPECT_EQ(q4, 0);
    } else {
      EXPECT_GT(nl + q4, 0);
    }
  }
  StreamOptions stop;
  stop.stop_after_commits = 1;
  const fs::path out = dir_ / "r.gguf";
  EXPECT_THROW(quantize_streaming(file_, nullptr, data_, recipe_options("fptq-plus-nl"), out.string(),
                                  pool, stop),
               Interrupted);
  StreamOptions resume;
  resume.resume = true;
  EXPECT_THROW(quantize_streaming(file_, nullptr, data_, recipe_options("fptq-plus+nl"),
                                  out.string(), pool, resume),
               Error);
}

// Stops after k commits (calibration blocks, then the non-block tensors,
// then quantized blocks) and resumes; the previous output stays untouched
// while interrupted, and the result equals an uninterrupted run.
TEST_F(StreamQuantize, ResumeAfterInterruptionGivesSameBytes) {
  ThreadPool pool(2);
  const int64_t L = model::read_config(*file_).n_layer;
  for (Scheme s : {Scheme::Fptq, Scheme::FptqGptq}) {
    SCOPED_TRACE(std::string(scheme_name(s)));
    const QuantizeOptions o = scheme_options(s);
    const fs::path ref = dir_ / "ref.gguf", out = dir_ / "out.gguf";
    quantize_streaming(file_, nullptr, data_, o, ref.string(), pool, StreamOptions{});
    const std::string want = file_bytes(ref);
    // 1: inside calibration; L + 1: just after the side tensors; L + 2: a quantized block.
    for (int64_t k : {int64_t(1), L + 1, L + 2}) {
      SCOPED_TRACE(k);
      { std::ofstream(out, std::ios::binary) << "previous output"; }
      StreamOptions stop;
      stop.stop_after_commits = k;
      EXPECT_THROW(quantize_streaming(file_, nullptr, data_, o, out.string(), pool, stop), Interrupted);
      EXPECT_EQ(file_bytes(out), "previous output");
      EXPECT_TRUE(fs::exists(dir_ / "out.gguf.fptq-partial" / "state.json"));
      // Resume once more interrupted, then to the end.
      StreamOptions again;
      again.resume = true;
      again.stop_after_commits = 1;
      EXPECT_THROW(quantize_streaming(file_, nullptr, data_, o, out.string(), pool, again), Interrupted);
      EXPECT_EQ(file_bytes(out), "previous output");
      StreamOptions resume;
      resume.resume = true;
      std::vector<std::string> notes;
      resume.note = [&](const std::string& n) { notes.push_back(n); };
      quantize_streaming(file_, nullptr, data_, o, out.string(), pool, resume);
      ASSERT_FALSE(notes.empty());
      EXPECT_NE(notes[0].find("resuming"), std::string::npos) << notes[0];
      EXPECT_TRUE(file_bytes(out) == want);
      EXPECT_FALSE(fs::exists(dir_ / "out.gguf.fptq-partial"));
    }
  }
}

TEST_F(StreamQuantize, ResumeRefusesOtherOptions) {
  ThreadPool pool(2);
  const fs::path out = dir_ / "o.gguf";
  StreamOptions stop;
  stop.stop_after_commits = 1;
  EXPECT_THROW(quantize_streaming(file_, nullptr, data_, scheme_options(Scheme::Fptq), out.string(),
                                  pool, stop),
               Interrupted);
  StreamOptions resume;
  resume.resume = true;
  try {
    quantize_streaming(file_, nullptr, data_, scheme_options(Scheme::W4A8Naive), out.string(), pool,
                       resume);
    FAIL() << "resumed a state made with other options";
  } catch (const Interrupted&) {
    FAIL() << "wrong exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another input, options"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
}

// A saved state that does not match its folder or the input (data.bin cut
// short, e.g. by a crash before the data reached the disk; a tensor the
// input does not have) is refused with the file named, never resumed into
// an output padded with zeros or an abort.
TEST_F(StreamQuantize, ResumeRefusesDamagedState) {
  ThreadPool pool(2);
  const int64_t L = model::read_config(*file_).n_layer;
  const QuantizeOptions o = scheme_options(Scheme::Fptq);
  const fs::path out = dir_ / "d.gguf", work = dir_ / "d.gguf.fptq-partial";
  auto interrupt = [&] {
    StreamOptions stop;
    stop.stop_after_commits = L + 2;  // the side tensors and one quantized block
    EXPECT_THROW(quantize_streaming(file_, nullptr, data_, o, out.string(), pool, stop), Interrupted);
  };
  auto resume_error = [&] {
    StreamOptions resume;
    resume.resume = true;
    try {
      quantize_streaming(file_, nullptr, data_, o, out.string(), pool, resume);
    } catch (const Interrupted& e) {
      return std::string("Interrupted: ") + e.what();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("resumed");
  };

  interrupt();
  const uint64_t committed = fs::file_size(work / "data.bin");
  ASSERT_GT(committed, 1u);
  fs::resize_file(work / "data.bin", committed / 2);
  std::string e = resume_error();
  EXPECT_NE(e.find("data.bin: holds " + std::to_string(committed / 2) + " bytes, fewer than the " +
                   std::to_string(committed) + " committed"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(out));

  interrupt();
  nlohmann::json st = nlohmann::json::parse(file_bytes(work / "state.json"));
  ASSERT_FALSE(st.at("tensors").empty());
  st["tensors"][0]["name"] = "no.such.tensor";
  const std::string index = std::to_string(st["tensors"][0]["index"].get<size_t>());
  // Edited: the checksum no longer matches.
  { std::ofstream(work / "state.json") << st.dump(1); }
  e = resume_error();
  EXPECT_NE(e.find("state.json: checksum mismatch"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out));
  // Edited with a matching checksum (SHA-256 of the JSON without it): the
  // fields are still checked against the input.
  st.erase("checksum");
  st["checksum"] = sha256_hex(st.dump());
  { std::ofstream(work / "state.json") << st.dump(1); }
  e = resume_error();
  EXPECT_NE(e.find("state.json: tensor " + index + " 'no.such.tensor' is not tensor " + index +
                   " of '" + file_->path + "'"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(out));
}

// A model folder (Hugging Face layout) whose weights changed since the
// interruption must not resume: the key covers its files, not just the
// tensor layout (which a re-saved shard keeps).
TEST_F(StreamQuantize, ResumeRefusesChangedModelFolder) {
  ThreadPool pool(2);
  fs::create_directory(dir_ / "hf");
  { std::ofstream(dir_ / "hf" / "model.safetensors") << "weights v1"; }
  { std::ofstream(dir_ / "hf" / "notes.txt") << "not read by the loader"; }
  auto folder = std::make_shared<io::ModelFile>(*file_);  // stories260K's tensors,
  folder->path = (dir_ / "hf").string();                  // named as a folder
  folder->storage.push_back(file_);
  const QuantizeOptions o = scheme_options(Scheme::Fptq);
  const fs::path out = dir_ / "f.gguf";
  StreamOptions stop;
  stop.stop_after_commits = 1;
  EXPECT_THROW(quantize_streaming(folder, stats_, data_, o, out.string(), pool, stop), Interrupted);
  { std::ofstream(dir_ / "hf" / "notes.txt") << "edited: still resumes"; }
  StreamOptions again = stop;
  again.resume = true;
  std::vector<std::string> notes;
  again.note = [&](const std::string& n) { notes.push_back(n); };
  EXPECT_THROW(quantize_streaming(folder, stats_, data_, o, out.string(), pool, again), Interrupted);
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("resuming"), std::string::npos) << notes[0];

  { std::ofstream(dir_ / "hf" / "model.safetensors") << "weights v2, re-saved"; }
  StreamOptions resume;
  resume.resume = true;
  try {
    quantize_streaming(folder, stats_, data_, o, out.string(), pool, resume);
    FAIL() << "resumed a state made from other weights";
  } catch (const Interrupted&) {
    FAIL() << "wrong exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another input, options"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(StreamQuantize, StopRequestInterruptsAndKeepsState) {
  ThreadPool pool(1);
  const fs::path out = dir_ / "sig.gguf";
  request_stop();
  EXPECT_THROW(quantize_streaming(file_, stats_, data_, scheme_options(Scheme::Fptq), out.string(),
                                  pool, StreamOptions{}),
               Interrupted);
  clear_stop_request();
  EXPECT_FALSE(fs::exists(out));
  StreamOptions resume;
  resume.resume = true;
  quantize_streaming(file_, stats_, data_, scheme_options(Scheme::Fptq), out.string(), pool, resume);
  const fs::path ref = dir_ / "ref.gguf";
  quantize_model(file_, *stats_, scheme_options(Scheme::Fptq), ref.string(), pool, {}, data_);
  EXPECT_TRUE(file_bytes(out) == file_bytes(ref));
}

}  // namespace
}  // namespace fptq::quant
