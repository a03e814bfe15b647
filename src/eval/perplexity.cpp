#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/timer.h"

namespace fptq::eval {

std::string_view protocol_name(Protocol p) {
  return p == Protocol::llamacpp ? "llamacpp" : "gptq";
}

Protocol parse_protocol(std::string_view name) {
  if (name == "llamacpp") return Protocol::llamacpp;
  if (name == "gptq") return Protocol::gptq;
  fail("unknown perplexity protocol '{}' (expected llamacpp or gptq)", name);
}

int64_t default_ctx(Protocol p) { return p == Protocol::llamacpp ? 512 : 2048; }

std::vector<int32_t> tokenize_for_perplexity(const tok::Tokenizer& tok, std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return tok.encode(text, tok.add_bos_by_default() && tok.bos_id() >= 0);
}

int64_t scored_per_window(Protocol p, int64_t ctx) {
  return p == Protocol::llamacpp ? ctx - 1 - ctx / 2 : ctx - 1;
}

PerplexityResult perplexity(const model::Model& model, const tok::Tokenizer& tok,
                            std::span<const int32_t> tokens, const PerplexityOptions& opts,
                            ThreadPool& pool, const ProgressFn& progress,
                            const ScoredFn& on_scored) {
  Timer timer;
  if (opts.ctx < 0) fail("perplexity: --ctx {} is negative (0 = the protocol's default)", opts.ctx);
  if (opts.max_chunks < 0)
    fail("perplexity: --chunks {} is negative (0 = every window)", opts.max_chunks);
  PerplexityResult res;
  res.protocol = opts.protocol;
  res.ctx = opts.ctx > 0 ? opts.ctx : default_ctx(opts.protocol);
  res.n_tokens = int64_t(tokens.size());
  const int64_t ctx = res.ctx;
  const bool llamacpp = opts.protocol == Protocol::llamacpp;
  if (ctx < (llamacpp ? 4 : 2)) {
    fail("perplexity: context {} too small for the {} protocol", ctx, protocol_name(opts.protocol));
  }
  const int64_t full_windows = res.n_tokens / ctx;
  if (full_windows < 1) {
    fail("perplexity: {} tokens do not fill one window of {} tokens", res.n_tokens, ctx);
  }
  res.n_windows = opts.max_chunks > 0 ? std::min(opts.max_chunks, full_windows) : full_windows;
  res.bos_first = llamacpp && tok.add_bos_by_default() && tok.bos_id() >= 0;
  // Logits at positions [first, ctx-1) are scored; each predicts the next token.
  const int64_t first = llamacpp ? ctx / 2 : 0;
  const int64_t batch = std::max<int64_t>(1, opts.batch);
  const int64_t n_vocab = model.config().n_vocab;

  model::KvCache cache(model.config(), ctx);
  NllAccumulator acc;
  std::vector<float> logits;
  std::vector<int32_t> window(static_cast<size_t>(ctx));
  for (int64_t w = 0; w < res.n_windows; ++w) {
    std::copy_n(tokens.begin() + w * ctx, ctx, window.begin());
    if (res.bos_first) window[0] = tok.bos_id();
    cache.clear();
    for (int64_t start = 0, rows = 0; start < ctx; start += rows) {
      // Batches end at `first`, so that unscored positions get no logits.
      rows = std::min(batch, (start < first ? first : ctx) - start);
      const int64_t row_end = start + rows;
      if (row_end <= first) {
        model.forward(std::span(window).subspan(size_t(start), size_t(rows)), cache, pool,
                      model::Logits::last, logits, opts.observer);
        continue;
      }
      model.forward(std::span(window).subspan(size_t(start), size_t(rows)), cache, pool,
                    model::Logits::all, logits, opts.observer);
      for (int64_t p = std::max(start, first); p < std::min(row_end, ctx - 1); ++p) {
        std::span<const float> row(logits.data() + (p - start) * n_vocab, size_t(n_vocab));
        const int32_t target = window[size_t(p + 1)];
        if (on_scored) on_scored({acc.count(), w, p, row, target});
        const double nll = token_nll(row, target);
        if (!std::isfinite(nll)) {
          fail("perplexity: non-finite log-probability (NaN/Inf logits) at window {} position {}: "
               "the model overflows on this text", w + 1, p);
        }
        acc.add(nll);
      }
    }
    if (progress) progress({w + 1, res.n_windows, acc.stats(), timer.elapsed()});
  }
  res.stats = acc.stats();
  if (res.stats.n > 0 && !(std::isfinite(res.stats.ppl) && std::isfinite(res.stats.ppl_stderr)))
    fail("perplexity: PPL overflows (mean NLL {:.4g} nats per token): the model's logits are far "
         "out of range on this text",
         res.stats.mean_nll);
  res.seconds = timer.elapsed();
  return res;
}

}  // namespace fptq::eval
