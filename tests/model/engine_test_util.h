// Quantized stories260K models for the integer-engine tests: an FPTQ file
// written by the quant pipeline, and a plain Q4_0 GGUF (no fptq.* keys) as
// llama.cpp would write one; plus a perplexity helper. The golden ids and
// the logits of a batch come from forward_util.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "model/forward_util.h"
#include "io/dequant.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "model/model.h"
#include "quant/calibrate.h"
#include "quant/emulation_observer.h"
#include "quant/quantize_model.h"
#include "quant/weight_int4.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::model::enginetest {

inline std::vector<int32_t> read_ids(const std::string& rel) {
  std::ifstream in(testing::shared_data(rel));
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

// `n` windows of `len` WikiText-2 test tokens (stories260K tokenizer), BOS first.
inline std::vector<std::vector<int32_t>> wikitext_windows(int n, int64_t len, int32_t bos) {
  const std::vector<int32_t> ids = read_ids("golden/stories260K-wikitext-2-test-ids.txt");
  std::vector<std::vector<int32_t>> w;
  for (int i = 0; i < n && int64_t(i + 1) * (len - 1) <= int64_t(ids.size()); ++i) {
    std::vector<int32_t> win{bos};
    win.insert(win.end(), ids.begin() + int64_t(i) * (len - 1), ids.begin() + int64_t(i + 1) * (len - 1));
    w.push_back(std::move(win));
  }
  return w;
}

// Writes the FPTQ-quantized stories260K (default scheme, 8 × 128 random
// calibration tokens) to `out`.
inline void write_fptq_stories(const std::string& out, ThreadPool& pool,
                               const quant::QuantizeOptions& opts = {}) {
  auto src = io::open_model(stories_path());
  const Model fp(src, pool);
  const auto tok = tok::Tokenizer::from_metadata(fp.file().metadata, fp.file().path);
  quant::CalibOptions co;
  co.samples = 8;
  co.seqlen = 128;
  const quant::CalibStatsSet stats =
      quant::calibrate(fp, quant::make_calib_data(*tok, fp.config(), co), pool);
  quant::quantize_model(src, stats, opts, out, pool);
}

// Writes stories260K as a plain llama.cpp-style Q4_0 GGUF: every matrix
// whose K is a multiple of 32 in Q4_0 (group 32, ggml's rule), the rest
// (ffn_down, K = 172; norms) in F32; same metadata, no fptq.* keys.
inline void write_plain_q4_0_stories(const std::string& out) {
  auto src = io::open_model(stories_path());
  io::GgufWriter w;
  for (const auto& [key, value] : src->metadata.items()) {
    if (key != "general.alignment") w.add(key, value);
  }
  for (const io::TensorInfo& t : src->tensors) {
    const std::vector<float> v = io::dequantize_tensor(t);
    if (t.ne.size() == 2 && t.ne[0] % 32 == 0 && t.name != "token_embd.weight") {
      const quant::Int4Weights q = quant::quantize_int4(v, t.ne[1], t.ne[0], {32});
      const std::vector<io::BlockQ4_0> blocks = quant::pack_q4_0(q);
      const auto* p = reinterpret_cast<const uint8_t*>(blocks.data());
      w.add_tensor(t.name, io::GgmlType::Q4_0, t.ne,
                   std::vector<uint8_t>(p, p + blocks.size() * sizeof(io::BlockQ4_0)));
    } else {
      const auto* p = reinterpret_cast<const uint8_t*>(v.data());
      w.add_tensor(t.name, io::GgmlType::F32, t.ne,
                   std::vector<uint8_t>(p, p + v.size() * sizeof(float)));
    }
  }
  w.write(out);
}

}  // namespace fptq::model::enginetest
