#include "quant/calibrate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/sha256.h"
#include "core/timer.h"
#include "model/kv_cache.h"
#include "model/quant_spec.h"

namespace fptq::quant {
namespace {

// A uniform integer in [0, n) from raw mt19937_64 output (rejection sampling),
// so the draw is the same with every standard library.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  FPTQ_CHECK(n > 0);
  const uint64_t limit = std::numeric_limits<uint64_t>::max() -
                         std::numeric_limits<uint64_t>::max() % n;
  for (;;) {
    const uint64_t x = rng();
    if (x < limit) return x % n;
  }
}

std::string read_file(const std::string& path) {
  return read_text_input(path, "calibration text");
}

// Runs every sequence through the model with `obs` attached.
void run_sequences(const model::Model& model, const CalibData& data, ThreadPool& pool,
                   model::Observer& obs, const CalibProgressFn& progress,
                   const std::function<void(int64_t)>& after_sample) {
  Timer timer;
  std::vector<float> logits;
  int64_t tokens = 0;
  const int64_t n = int64_t(data.sequences.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto& seq = data.sequences[size_t(i)];
    model::KvCache cache(model.config(), int64_t(seq.size()));
    model.forward(seq, cache, pool, model::Logits::last, logits, &obs);
    tokens += int64_t(seq.size());
    if (after_sample) after_sample(i);
    if (progress) progress(CalibProgress{i + 1, n, tokens, timer.elapsed()});
  }
}

class StatsObserver : public model::Observer {
 public:
  explicit StatsObserver(const model::LlamaConfig& c) {
    for (int64_t l = 0; l < c.n_layer; ++l)
      for (auto kind : model::kBlockInputs) stats_.emplace_back(point_channels(c, kind));
  }
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    if (p.kind == model::MatmulInput::output_in) return;
    stats_[index(p)].observe(std::span<const float>(x, size_t(rows * cols)));
  }
  std::vector<ChannelStats> stats_;  // [layer * 4 + point]

  static size_t index(const model::ObservationPoint& p) {
    return size_t(p.layer * model::kBlockPoints + model::block_point_index(p.kind));
  }
};

class HessianObserver : public model::Observer {
 public:
  HessianObserver(const model::LlamaConfig& c, const std::vector<std::string>& points,
                  ThreadPool* pool)
      : pool_(pool) {
    slots_.resize(size_t(c.n_layer * model::kBlockPoints));
    for (const std::string& name : points) {
      bool found = false;
      for (int64_t l = 0; l < c.n_layer && !found; ++l) {
        for (auto kind : model::kBlockInputs) {
          if (model::observation_point_name(l, kind) != name) continue;
          const size_t i = size_t(l * model::kBlockPoints + model::block_point_index(kind));
          if (!slots_[i]) slots_[i] = std::make_unique<HessianAccumulator>(point_channels(c, kind));
          found = true;
          break;
        }
      }
      if (!found) fail("GPTQ Hessians: '{}' is not an observation point of this model", name);
    }
  }
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    if (p.kind == model::MatmulInput::output_in) return;
    auto& slot = slots_[StatsObserver::index(p)];
    if (slot) slot->add(std::span<const float>(x, size_t(rows * cols)), pool_);
  }
  ThreadPool* pool_;
  std::vector<std::unique_ptr<HessianAccumulator>> slots_;
};

}  // namespace

int64_t point_channels(const model::LlamaConfig& c, model::MatmulInput kind) {
  switch (kind) {
    case model::MatmulInput::attn_qkv_in: return c.dim;
    case model::MatmulInput::attn_out_in: return c.n_head * c.head_dim;
    case model::MatmulInput::ffn_gate_up_in: return c.dim;
    case model::MatmulInput::ffn_down_in: return c.ffn_dim;
    case model::MatmulInput::output_in: return c.dim;
  }
  return 0;
}

std::vector<std::string> block_point_names(int64_t n_layer) {
  std::vector<std::string> names;
  for (int64_t l = 0; l < n_layer; ++l)
    for (auto kind : model::kBlockInputs) names.push_back(model::observation_point_name(l, kind));
  return names;
}

CalibData make_calib_data(const tok::Tokenizer& tok, const model::LlamaConfig& cfg,
                          const CalibOptions& opts) {
  if (opts.samples < 1) fail("calibration: --samples must be at least 1 (got {})", opts.samples);
  if (opts.seqlen < 2) fail("calibration: --seqlen must be at least 2 (got {})", opts.seqlen);
  CalibData d;
  int64_t samples = opts.samples, seqlen = opts.seqlen;
  if (cfg.context_length > 0 && seqlen > cfg.context_length) {
    d.notes.push_back(fmt::format("seqlen {} clamped to the model's context length {}", seqlen,
                                  cfg.context_length));
    seqlen = cfg.context_length;
  }
  const bool bos = tok.add_bos_by_default() && tok.bos_id() >= 0;
  std::mt19937_64 rng(opts.seed);
  if (opts.text_files.empty()) {
    // Random sequences are drawn up front: bound their size first (a text's
    // windows are bounded by the text, which is bounded by its reader).
    int64_t tokens = 0;
    if (!checked_mul(samples, seqlen, &tokens) || tokens > kMaxRandomCalibTokens)
      fail("calibration: --samples {} × --seqlen {} random tokens exceed the bound of {} tokens "
           "(calibration sets are usually ~10^5 tokens): lower --samples",
           samples, seqlen, kMaxRandomCalibTokens);
    d.provenance.source = "random";
    const uint64_t n_vocab = uint64_t(cfg.n_vocab);
    for (int64_t i = 0; i < samples; ++i) {
      std::vector<int32_t> seq(static_cast<size_t>(seqlen));
      for (auto& t : seq) t = int32_t(uniform_below(rng, n_vocab));
      if (bos) seq[0] = tok.bos_id();
      d.sequences.push_back(std::move(seq));
    }
  } else {
    std::string text, source = "text:";
    for (size_t i = 0; i < opts.text_files.size(); ++i) {
      if (opts.text_files[i].find(',') != std::string::npos)
        fail("calibration text '{}': file names with ',' are not supported", opts.text_files[i]);
      if (i > 0) {
        text += '\n';
        source += ',';
      }
      text += read_file(opts.text_files[i]);
      source += opts.text_files[i];
    }
    d.provenance.source = source;
    d.provenance.text_digest = sha256_hex(text);
    const std::vector<int32_t> ids = tok.encode(text, bos);
    const int64_t T = int64_t(ids.size());
    if (T < 2) fail("calibration: the text yields {} tokens, need at least 2", T);
    if (T < seqlen) {
      d.notes.push_back(fmt::format("seqlen {} clamped to the {} tokens the text holds", seqlen, T));
      seqlen = T;
    }
    const int64_t windows = T / seqlen;
    if (samples > windows) {
      d.notes.push_back(fmt::format(
          "samples {} clamped to {}: the text holds {} tokens = {} non-overlapping windows of {}",
          samples, windows, T, windows, seqlen));
      samples = windows;
    }
    std::vector<int64_t> order(static_cast<size_t>(windows));
    for (int64_t i = 0; i < windows; ++i) order[size_t(i)] = i;
    // Partial Fisher–Yates: the first `samples` entries are a uniform draw.
    for (int64_t i = 0; i < samples; ++i) {
      const int64_t j = i + int64_t(uniform_below(rng, uint64_t(windows - i)));
      std::swap(order[size_t(i)], order[size_t(j)]);
    }
    for (int64_t i = 0; i < samples; ++i) {
      const auto* p = ids.data() + order[size_t(i)] * seqlen;
      std::vector<int32_t> seq(p, p + seqlen);
      if (bos) seq[0] = tok.bos_id();
      d.sequences.push_back(std::move(seq));
    }
  }
  d.provenance.samples = samples;
  d.provenance.seqlen = seqlen;
  d.provenance.seed = opts.seed;
  return d;
}

CalibOptions calib_options_from_provenance(const CalibProvenance& p) {
  CalibOptions o;
  o.samples = p.samples;
  o.seqlen = p.seqlen;
  o.seed = p.seed;
  if (p.source == "random") return o;
  if (p.source.rfind("text:", 0) != 0 || p.source.size() == 5)
    fail("calibration source '{}' cannot be reproduced (expected 'random' or 'text:FILE,...')",
         p.source);
  std::string rest = p.source.substr(5);
  for (size_t at = 0;;) {
    const size_t comma = rest.find(',', at);
    o.text_files.push_back(rest.substr(at, comma == std::string::npos ? comma : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return o;
}

CalibStatsSet calibrate(const model::Model& model, const CalibData& data, ThreadPool& pool,
                        const CalibProgressFn& progress) {
  const model::LlamaConfig& c = model.config();
  StatsObserver obs(c);
  const auto names = block_point_names(c.n_layer);
  run_sequences(model, data, pool, obs, progress, [&](int64_t sample) {
    for (size_t i = 0; i < names.size(); ++i) {
      const ChannelStats& s = obs.stats_[i];
      if (s.nonfinite_count() > 0)
        fail("calibration: {} non-finite activations ({} NaN, {} Inf) at '{}' by sample {}: the "
             "model overflows on this input",
             s.nonfinite_count(), s.nan_count(), s.inf_count(), names[i], sample);
    }
  });
  CalibStatsSet set;
  set.provenance = data.provenance;
  for (size_t i = 0; i < names.size(); ++i) set.points.emplace(names[i], std::move(obs.stats_[i]));
  return set;
}

std::map<std::string, HessianAccumulator> collect_hessians(
    const model::Model& model, const CalibData& data, const std::vector<std::string>& points,
    ThreadPool& pool, const CalibProgressFn& progress) {
  const model::LlamaConfig& c = model.config();
  HessianObserver obs(c, points, &pool);
  run_sequences(model, data, pool, obs, progress, {});
  std::map<std::string, HessianAccumulator> out;
  const auto names = block_point_names(c.n_layer);
  for (size_t i = 0; i < names.size(); ++i)
    if (obs.slots_[i]) out.emplace(names[i], std::move(*obs.slots_[i]));
  return out;
}

void check_stats_match(const CalibStatsSet& stats, const model::LlamaConfig& cfg,
                       const std::string& what) {
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    for (auto kind : model::kBlockInputs) {
      const std::string name = model::observation_point_name(l, kind);
      auto it = stats.points.find(name);
      if (it == stats.points.end())
        fail("{}: no statistics for point '{}' (stats of another model, or an incomplete file)",
             what, name);
      const int64_t want = point_channels(cfg, kind);
      if (it->second.channels() != want)
        fail("{}: point '{}' has {} channels, the model has {} (stats of another model?)", what,
             name, it->second.channels(), want);
      if (it->second.tokens() <= 0) fail("{}: point '{}' saw no tokens", what, name);
      if (it->second.nonfinite_count() > 0)
        fail("{}: point '{}' recorded {} non-finite activations", what, name,
             it->second.nonfinite_count());
    }
  }
  for (const auto& [name, s] : stats.points) {
    bool known = false;
    for (int64_t l = 0; l < cfg.n_layer && !known; ++l)
      for (auto kind : model::kBlockInputs) known = known || model::observation_point_name(l, kind) == name;
    if (!known)
      fail("{}: point '{}' does not exist in this model ({} blocks): stats of another model?",
           what, name, cfg.n_layer);
  }
}

}  // namespace fptq::quant
