// Hostile input beyond malformed files, through the fptq binary: NaN/Inf
// weights, activations that overflow, texts too short, an empty calibration
// file, unsupported architectures and tensor types, out-of-range option
// values, outputs that cannot be written (missing folder, a directory, a full
// disk simulated with `ulimit -f`), and outputs that are the input (same
// path, ./ prefix, symlink, hard link). Every case must exit non-zero with a
// one-line message saying what is wrong, create no file at all (no output, no
// leftover temporary) and leave every existing file byte-identical. Each case
// prints "[bad-input] <case> -> <message>" (the table of the note).
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/half.h"
#include "refusal.h"

namespace fptq {
namespace {

namespace fs = std::filesystem;
using clitest::Case;
using clitest::kCalib;
using clitest::set_f32;
using clitest::write_variant;

class BadInputCli : public clitest::RefusalCli {};

TEST_F(BadInputCli, NonFiniteWeightsAndActivations) {
  write_variant(work_ / "nan_f32.gguf", nullptr, [](const std::string& n, auto&, auto& b) {
    if (n == "blk.0.attn_q.weight") set_f32(b, 5, std::numeric_limits<float>::quiet_NaN());
  });
  // An F16 weight with +Inf (0x7c00) at element 7.
  write_variant(work_ / "inf_f16.gguf", nullptr, [](const std::string& n, io::GgmlType& type,
                                                     std::vector<uint8_t>& b) {
    if (n != "blk.1.ffn_up.weight") return;
    std::vector<uint8_t> h(b.size() / 2);
    for (size_t i = 0; i < h.size() / 2; ++i) {
      float f;
      std::memcpy(&f, &b[4 * i], 4);
      const uint16_t v = i == 7 ? uint16_t(0x7c00) : f32_to_fp16(f);
      std::memcpy(&h[2 * i], &v, 2);
    }
    type = io::GgmlType::F16;
    b = std::move(h);
  });
  // Finite weights whose activations overflow: an RMSNorm gain of 3e38.
  write_variant(work_ / "overflow.gguf", nullptr, [](const std::string& n, auto&, auto& b) {
    if (n == "blk.0.attn_norm.weight")
      for (size_t i = 0; i < b.size() / 4; ++i) set_f32(b, i, 3e38f);
  });
  const std::vector<Case> cases = {
      {"NaN in an F32 weight (quantize)", "quantize nan_f32.gguf " + kCalib + " -o out.gguf",
       "tensor 'blk.0.attn_q.weight': element 5 is NaN"},
      {"NaN in an F32 weight (perplexity)", "perplexity nan_f32.gguf -f story.txt -c 16",
       "tensor 'blk.0.attn_q.weight': element 5 is NaN"},
      {"+Inf in an F16 weight (perplexity)", "perplexity inf_f16.gguf -f story.txt -c 16",
       "tensor 'blk.1.ffn_up.weight': element 7 is +Inf"},
      // The streaming pipeline loads each block as a one-block model whose
      // tensors are renamed blk.0.*, so its message names blk.0 (reported).
      {"+Inf in an F16 weight (calibrate)", "calibrate inf_f16.gguf " + kCalib + " -o out.json",
       "ffn_up.weight': element 7 is +Inf"},
      {"activations overflow to Inf (calibrate)",
       "calibrate overflow.gguf " + kCalib + " -o out.json", "non-finite activations"},
      {"activations overflow to Inf (quantize)",
       "quantize overflow.gguf " + kCalib + " -o out.gguf", "non-finite activations"},
      {"logits overflow (perplexity)", "perplexity overflow.gguf -f story.txt -c 16",
       "non-finite log-probability"},
  };
  for (const Case& c : cases) expect_refused(c);
}

TEST_F(BadInputCli, UnusableTextsModelsAndTypes) {
  write_variant(work_ / "gpt2.gguf", [](const std::string& k, io::Value& v) {
    if (k == "general.architecture") v = io::Value::make_string("gpt2");
  }, nullptr);
  // Q8_1 (32-element blocks, so the row of 64 fits) is a type fptq does not read.
  write_variant(work_ / "q8_1.gguf", nullptr, [](const std::string& n, io::GgmlType& type,
                                                 std::vector<uint8_t>& b) {
    if (n != "blk.0.ffn_up.weight") return;
    type = io::GgmlType::Q8_1;
    b.assign(b.size() / 4 / 32 * 36, 0);
  });
  const std::vector<Case> cases = {
      {"text shorter than one window (perplexity)", "perplexity model.gguf -f short.txt",
       "do not fill one window of 512 tokens"},
      {"empty calibration file", "calibrate model.gguf --calib empty.txt -q -o out.json",
       "the text yields 1 tokens"},
      {"unsupported architecture gpt2 (quantize)", "quantize gpt2.gguf " + kCalib + " -o out.gguf",
       "unsupported architecture 'gpt2'"},
      {"unsupported architecture gpt2 (perplexity)", "perplexity gpt2.gguf -f story.txt -c 16",
       "unsupported architecture 'gpt2'"},
      {"unsupported tensor type Q8_1 (quantize)", "quantize q8_1.gguf " + kCalib + " -o out.gguf",
       "type Q8_1 cannot be dequantized"},
      {"unsupported tensor type Q8_1 (perplexity)", "perplexity q8_1.gguf -f story.txt -c 16",
       "type Q8_1 cannot be dequantized"},
  };
  for (const Case& c : cases) expect_refused(c);
}

TEST_F(BadInputCli, OutOfRangeOptionValues) {
  const std::vector<Case> cases = {
      {"--chunks -1", "perplexity model.gguf -f story.txt -c 16 --chunks -1", "--chunks -1"},
      {"--ctx -5", "perplexity model.gguf -f story.txt --ctx -5", "--ctx -5"},
      {"--ctx 1", "perplexity model.gguf -f story.txt --ctx 1", "context 1 too small"},
      {"--batch 0", "perplexity model.gguf -f story.txt -c 16 --batch 0", "--batch"},
      {"--kl-top-k 0", "perplexity model.gguf -f story.txt -c 16 --kl-top-k 0 --kl-base kb.bin",
       "--kl-top-k"},
      {"--group-size 48", "quantize model.gguf " + kCalib + " --group-size 48 -o out.gguf",
       "--group-size 48: expected 32, 64, 128, 256 or 0"},
      {"--v0 > --v1", "quantize model.gguf " + kCalib + " --v0 200 --v1 100 -o out.gguf",
       "v0 <= v1"},
      {"--v0 -1", "calibrate model.gguf " + kCalib + " --v0 -1 -o out.json", "v0"},
      {"--threads 0", "calibrate model.gguf " + kCalib + " --threads 0 -o out.json",
       "--threads: must be a positive integer, got '0'"},
      {"--threads -2", "quantize model.gguf " + kCalib + " -t -2 -o out.gguf",
       "--threads: must be a positive integer, got '-2'"},
      {"--samples 0", "calibrate model.gguf --calib random --samples 0 -o out.json",
       "--samples: must be a positive integer, got '0'"},
      {"--seqlen 1", "calibrate model.gguf --calib random --seqlen 1 -o out.json", "--seqlen"},
      {"--alpha 2", "quantize model.gguf " + kCalib + " --scheme w8a8-smoothquant --alpha 2 -o out.gguf",
       "--alpha 2"},
      {"--gptq-damp -1", "quantize model.gguf " + kCalib + " --scheme fptq-gptq --gptq-damp -1 -o out.gguf",
       "--gptq-damp -1"},
      {"--gptq-block 0", "quantize model.gguf " + kCalib + " --scheme fptq-gptq --gptq-block 0 -o out.gguf",
       "--gptq-block 0"},
  };
  for (const Case& c : cases) expect_refused(c);
}

TEST_F(BadInputCli, OutputsThatCannotBeWritten) {
  std::vector<Case> cases = {
      {"output folder missing", "quantize model.gguf " + kCalib + " -o nodir/out.gguf",
       "'nodir' does not exist"},
      {"output folder is a file", "calibrate model.gguf " + kCalib + " -o short.txt/out.json",
       "does not exist"},
      {"output is a directory", "quantize model.gguf " + kCalib + " -o subdir", "is a directory"},
      {"disk full (ulimit -f 64: 64 KiB)", "quantize model.gguf " + kCalib + " -o out.gguf",
       "File too large", "ulimit -f 64;"},
  };
  if (fs::is_directory("/proc/self"))
    cases.push_back({"output on a read-only file system (/proc)",
                     "calibrate model.gguf " + kCalib + " -o /proc/fptq-out.json",
                     "/proc/fptq-out.json"});
  for (const Case& c : cases) expect_refused(c);
}

TEST_F(BadInputCli, OutputIsTheInput) {
  const std::vector<Case> cases = {
      {"quantize -o = input", "quantize model.gguf " + kCalib + " -o model.gguf", "is the input"},
      {"quantize -o = ./input", "quantize model.gguf " + kCalib + " -o ./model.gguf",
       "is the input"},
      {"quantize -o = symlink to input", "quantize model.gguf " + kCalib + " -o link.gguf",
       "is the input"},
      {"quantize -o = hard link to input", "quantize model.gguf " + kCalib + " -o hard.gguf",
       "is the input"},
      {"quantize --save-stats = input",
       "quantize model.gguf " + kCalib + " --save-stats ./model.gguf -o out.gguf", "is the input"},
      {"calibrate -o = input", "calibrate model.gguf " + kCalib + " -o model.gguf", "is the input"},
      {"calibrate -o = symlink to input", "calibrate link.gguf " + kCalib + " -o hard.gguf",
       "is the input"},
      {"calibrate -o = calibration text", "calibrate model.gguf --calib story.txt -q -o story.txt",
       "is the input"},
      {"perplexity --kl-base = input (read as a KL base)",
       "perplexity model.gguf -f story.txt -c 16 --kl-base model.gguf", "not a KL base file"},
  };
  for (const Case& c : cases) expect_refused(c);
}

}  // namespace
}  // namespace fptq
