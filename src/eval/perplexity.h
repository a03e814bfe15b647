// Perplexity of a model on a text, under one of two protocols
// (docs: fptq-method.md §8). Report which one was used.
//
// llamacpp: the text (final newline removed) is tokenized once, with BOS when
//   the tokenizer adds one by default; cut into non-overlapping windows of ctx
//   (default 512) tokens, the tail dropped; each window runs from an empty
//   cache with its token 0 replaced by BOS (when BOS is added), and only the
//   second half is scored: the logits at positions ctx/2 .. ctx-2 predict
//   tokens ctx/2+1 .. ctx-1 (ctx - 1 - ctx/2 predictions per window), exactly
//   as llama.cpp's perplexity tool does.
// gptq: the same tokenization, windows [i·ctx, (i+1)·ctx) with ctx = 2048 by
//   default, the tail dropped, no BOS insertion, every prediction of the
//   window scored (ctx - 1 per window).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "eval/metrics.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace fptq::eval {

enum class Protocol { llamacpp, gptq };
std::string_view protocol_name(Protocol p);     // "llamacpp", "gptq"
Protocol parse_protocol(std::string_view name);  // throws fptq::Error for other names
int64_t default_ctx(Protocol p);                 // 512, 2048

struct PerplexityOptions {
  Protocol protocol = Protocol::llamacpp;
  int64_t ctx = 0;         // window length; 0: default_ctx(protocol)
  int64_t max_chunks = 0;  // windows to evaluate; <= 0: all full windows
  int64_t batch = 512;     // tokens per forward call (bounds the logits held at once)
  // Sees (and may rewrite) every matmul input, e.g. quant::EmulationObserver
  // for an emulated quantized model; nullptr: none. Not owned.
  model::Observer* observer = nullptr;
};

// One scored prediction: `logits` [n_vocab] at a scored position predict
// `target`. `index` counts scored predictions from 0 in evaluation order
// (window by window, position by position). `logits` is valid during the call.
struct ScoredPrediction {
  int64_t index = 0;
  int64_t window = 0;
  int64_t position = 0;  // position in the window of the logits row
  std::span<const float> logits;
  int32_t target = 0;
};
using ScoredFn = std::function<void(const ScoredPrediction&)>;

struct PerplexityProgress {
  int64_t window = 0;     // windows done (1-based after the first)
  int64_t n_windows = 0;  // windows that will be evaluated
  PerplexityStats so_far;
  double seconds = 0;     // since the start
};
using ProgressFn = std::function<void(const PerplexityProgress&)>;

struct PerplexityResult {
  Protocol protocol = Protocol::llamacpp;
  int64_t ctx = 0;
  int64_t n_tokens = 0;   // tokens in the tokenized text (BOS included)
  int64_t n_windows = 0;  // windows evaluated
  bool bos_first = false; // each window started with BOS (llamacpp with a BOS-adding tokenizer)
  PerplexityStats stats;  // stats.n = predictions scored
  double seconds = 0;
};

// Token ids of `text` as both protocols read it: one final '\n' removed, BOS
// prepended when the tokenizer adds it by default.
std::vector<int32_t> tokenize_for_perplexity(const tok::Tokenizer& tok, std::string_view text);

// Scored predictions per window: ctx - 1 - ctx/2 (llamacpp), ctx - 1 (gptq).
int64_t scored_per_window(Protocol p, int64_t ctx);

// Perplexity of `model` over `tokens` (already tokenized). `on_scored`, when
// given, is called for every scored prediction in order (KL divergence,
// top-1 agreement). Throws fptq::Error when ctx is too small (< 4 for
// llamacpp, < 2 for gptq) or the tokens do not fill one window.
PerplexityResult perplexity(const model::Model& model, const tok::Tokenizer& tok,
                            std::span<const int32_t> tokens, const PerplexityOptions& opts,
                            ThreadPool& pool, const ProgressFn& progress = {},
                            const ScoredFn& on_scored = {});

}  // namespace fptq::eval
