#include "eval/kl_base.h"

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/input_file.h"

namespace fptq::eval {
namespace {

constexpr char kMagic[8] = {'F', 'P', 'T', 'Q', 'K', 'L', 'B', '1'};
constexpr uint32_t kVersion = 1;
constexpr int64_t kHeaderBytes = 64;
constexpr int64_t kMaxDim = int64_t(1) << 24;  // bounds ctx, windows, vocab: products fit i64

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

template <class T>
T get(std::string_view bytes, int64_t off) {
  T v;
  std::memcpy(&v, bytes.data() + off, sizeof(T));
  return v;
}

}  // namespace

std::string serialize_kl_base(const KlBase& b) {
  const int64_t np = b.n_positions();
  FPTQ_CHECK(int64_t(b.tokens.size()) == b.n_windows * b.ctx);
  FPTQ_CHECK(int64_t(b.ids.size()) == np * b.top_k && b.logits.size() == b.ids.size() &&
             int64_t(b.lse.size()) == np);
  std::string out;
  out.reserve(size_t(kHeaderBytes + 4 * int64_t(b.tokens.size()) + 8 * int64_t(b.ids.size()) + 8 * np));
  out.append(kMagic, 8);
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, b.protocol == Protocol::llamacpp ? 0 : 1);
  for (int64_t v : {b.ctx, b.n_windows, b.n_vocab, b.top_k, np, int64_t(b.bos_first)})
    put<int64_t>(out, v);
  out.append(reinterpret_cast<const char*>(b.tokens.data()), b.tokens.size() * 4);
  for (int64_t p = 0; p < np; ++p) {
    out.append(reinterpret_cast<const char*>(b.ids.data() + p * b.top_k), size_t(b.top_k) * 4);
    out.append(reinterpret_cast<const char*>(b.logits.data() + p * b.top_k), size_t(b.top_k) * 4);
    put<double>(out, b.lse[size_t(p)]);
  }
  return out;
}

KlBase parse_kl_base(std::string_view bytes, const std::string& what) {
  if (int64_t(bytes.size()) < kHeaderBytes)
    fail("{}: not a KL base file ({} bytes, shorter than its {}-byte header)", what, bytes.size(),
         kHeaderBytes);
  if (std::memcmp(bytes.data(), kMagic, 8) != 0)
    fail("{}: not a KL base file (bad magic; expected one written by fptq perplexity --kl-base)",
         what);
  const uint32_t version = get<uint32_t>(bytes, 8);
  if (version != kVersion) fail("{}: KL base version {} (this fptq reads {})", what, version, kVersion);
  const uint32_t proto = get<uint32_t>(bytes, 12);
  if (proto > 1) fail("{}: unknown protocol code {}", what, proto);
  KlBase b;
  b.protocol = proto == 0 ? Protocol::llamacpp : Protocol::gptq;
  b.ctx = get<int64_t>(bytes, 16);
  b.n_windows = get<int64_t>(bytes, 24);
  b.n_vocab = get<int64_t>(bytes, 32);
  b.top_k = get<int64_t>(bytes, 40);
  const int64_t np = get<int64_t>(bytes, 48);
  const int64_t bos = get<int64_t>(bytes, 56);
  auto in_range = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) fail("{}: {} = {} out of range [{}, {}]", what, name, v, lo, hi);
  };
  in_range("ctx", b.ctx, b.protocol == Protocol::llamacpp ? 4 : 2, kMaxDim);
  in_range("n_windows", b.n_windows, 1, kMaxDim);
  in_range("n_vocab", b.n_vocab, 1, kMaxDim);
  in_range("top_k", b.top_k, 1, b.n_vocab);
  in_range("bos_first", bos, 0, 1);
  b.bos_first = bos == 1;
  if (np != b.n_positions())
    fail("{}: {} positions, but {} windows of {} under {} score {}", what, np, b.n_windows, b.ctx,
         protocol_name(b.protocol), b.n_positions());
  const int64_t n_tok = b.n_windows * b.ctx;
  if (n_tok > kMaxDim * 4) fail("{}: {} tokens is implausibly many", what, n_tok);
  const int64_t want = kHeaderBytes + 4 * n_tok + (8 * b.top_k + 8) * np;
  if (int64_t(bytes.size()) != want)
    fail("{}: {} bytes, but the header describes {} ({})", what, bytes.size(), want,
         int64_t(bytes.size()) < want ? "truncated" : "trailing bytes");
  b.tokens.resize(size_t(n_tok));
  std::memcpy(b.tokens.data(), bytes.data() + kHeaderBytes, size_t(n_tok) * 4);
  for (int64_t i = 0; i < n_tok; ++i)
    if (b.tokens[size_t(i)] < 0 || b.tokens[size_t(i)] >= b.n_vocab)
      fail("{}: token {} has id {} outside the vocabulary of {}", what, i, b.tokens[size_t(i)],
           b.n_vocab);
  b.ids.resize(size_t(np * b.top_k));
  b.logits.resize(b.ids.size());
  b.lse.resize(size_t(np));
  const char* rec = bytes.data() + kHeaderBytes + 4 * n_tok;
  for (int64_t p = 0; p < np; ++p, rec += 8 * b.top_k + 8) {
    int32_t* ids = b.ids.data() + p * b.top_k;
    float* lg = b.logits.data() + p * b.top_k;
    std::memcpy(ids, rec, size_t(b.top_k) * 4);
    std::memcpy(lg, rec + 4 * b.top_k, size_t(b.top_k) * 4);
    std::memcpy(&b.lse[size_t(p)], rec + 8 * b.top_k, 8);
    float top = -std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < b.top_k; ++k) {
      if (ids[k] < 0 || ids[k] >= b.n_vocab)
        fail("{}: position {} lists token id {} outside the vocabulary of {}", what, p, ids[k],
             b.n_vocab);
      if (!std::isfinite(lg[k])) fail("{}: position {} has a non-finite logit", what, p);
      top = std::max(top, lg[k]);
    }
    const double lse = b.lse[size_t(p)];
    if (!std::isfinite(lse) || lse < double(top))
      fail("{}: position {} has log-sum-exp {} below its largest logit {}", what, p, lse, top);
  }
  return b;
}

void write_kl_base(const std::string& path, const KlBase& b) {
  write_file_atomic(path, serialize_kl_base(b));
}

KlBase read_kl_base(const std::string& path) {
  // The file is read whole; a regular file is measured first, and a pipe or
  // device is stopped at the bound (a KL base of a whole WikiText-2 test run
  // at top-64 is ~0.1 GB).
  // `fptq perplexity` writes it as a regular file; anything else (a device
  // such as /dev/zero, a pipe) would only be read up to the bound.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    fail("{}: not a KL base file (not a regular file)", path);
  return parse_kl_base(read_input_file(path, "KL base", uint64_t(16) << 30), path);
}

KlBaseRun perplexity_record_kl_base(const model::Model& model, const tok::Tokenizer& tok,
                                    std::span<const int32_t> tokens, const PerplexityOptions& opts,
                                    ThreadPool& pool, int64_t top_k, const ProgressFn& progress) {
  const int64_t n_vocab = model.config().n_vocab;
  if (top_k < 1 || top_k > n_vocab)
    fail("KL base: top-K {} out of range [1, {}]", top_k, n_vocab);
  KlBaseRun run;
  KlBase& b = run.base;
  b.top_k = top_k;
  b.n_vocab = n_vocab;
  std::vector<int32_t> ids;
  std::vector<float> vals;
  auto record = [&](const ScoredPrediction& s) {
    top_logits(s.logits, top_k, ids, vals);
    b.ids.insert(b.ids.end(), ids.begin(), ids.end());
    b.logits.insert(b.logits.end(), vals.begin(), vals.end());
    b.lse.push_back(log_sum_exp(s.logits));
  };
  run.ppl = perplexity(model, tok, tokens, opts, pool, progress, record);
  b.protocol = run.ppl.protocol;
  b.ctx = run.ppl.ctx;
  b.n_windows = run.ppl.n_windows;
  b.bos_first = run.ppl.bos_first;
  b.tokens.assign(tokens.begin(), tokens.begin() + b.n_windows * b.ctx);
  FPTQ_CHECK(int64_t(b.ids.size()) == b.n_positions() * top_k);
  return run;
}

KlCompareRun perplexity_vs_kl_base(const model::Model& model, const tok::Tokenizer& tok,
                                   std::span<const int32_t> tokens, PerplexityOptions opts,
                                   const KlBase& base, ThreadPool& pool,
                                   const ProgressFn& progress) {
  const int64_t ctx = opts.ctx > 0 ? opts.ctx : default_ctx(opts.protocol);
  if (opts.protocol != base.protocol)
    fail("KL base was recorded with the {} protocol, this run uses {}", protocol_name(base.protocol),
         protocol_name(opts.protocol));
  if (ctx != base.ctx) fail("KL base was recorded with ctx {}, this run uses {}", base.ctx, ctx);
  if (model.config().n_vocab != base.n_vocab)
    fail("KL base was recorded on a model with {} tokens in its vocabulary, this one has {} "
         "(another model?)",
         base.n_vocab, model.config().n_vocab);
  if (opts.max_chunks <= 0) opts.max_chunks = base.n_windows;
  if (opts.max_chunks != base.n_windows)
    fail("KL base holds {} windows, this run asks for {} (use --chunks {})", base.n_windows,
         opts.max_chunks, base.n_windows);
  const size_t n_tok = base.tokens.size();
  if (tokens.size() < n_tok)
    fail("KL base covers {} tokens, this text has only {} (another text?)", n_tok, tokens.size());
  for (size_t i = 0; i < n_tok; ++i)
    if (tokens[i] != base.tokens[i])
      fail("KL base was recorded on other tokens: token {} is {} there, {} here (another text or "
           "tokenizer?)",
           i, base.tokens[i], tokens[i]);
  KlAccumulator acc;
  auto compare = [&](const ScoredPrediction& s) {
    FPTQ_CHECK(s.index < base.n_positions());
    const size_t off = size_t(s.index * base.top_k);
    std::span<const int32_t> ids(base.ids.data() + off, size_t(base.top_k));
    std::span<const float> lg(base.logits.data() + off, size_t(base.top_k));
    const double lse = base.lse[size_t(s.index)];
    acc.add(kl_divergence_top_k(ids, lg, lse, s.logits), argmax(s.logits) == ids[0],
            tail_mass(lg, lse));
  };
  KlCompareRun run;
  run.ppl = perplexity(model, tok, tokens, opts, pool, progress, compare);
  if (run.ppl.bos_first != base.bos_first)
    fail("KL base windows {} with BOS, this run's {} (another tokenizer?)",
         base.bos_first ? "start" : "do not start", run.ppl.bos_first ? "do" : "do not");
  FPTQ_CHECK(acc.count() == base.n_positions());
  run.kl = acc.stats();
  return run;
}

}  // namespace fptq::eval
