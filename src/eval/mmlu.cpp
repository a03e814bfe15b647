#include "eval/mmlu.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"
#include "eval/kl_divergence.h"

namespace fptq::eval {
namespace {

constexpr int64_t kFallbackContext = 2048;  // when the model does not say

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

MmluLetterTokens mmlu_letter_tokens(const tok::Tokenizer& tok) {
  const std::vector<int32_t> ctx = tok.encode("Answer:", false);
  std::array<std::vector<int32_t>, 4> cont;
  for (int i = 0; i < 4; ++i) {
    const std::vector<int32_t> full = tok.encode(std::string("Answer: ") + mmlu_letter(i), false);
    if (full.size() <= ctx.size() || !std::equal(ctx.begin(), ctx.end(), full.begin()))
      fail("MMLU: the tokenizer merges \"Answer:\" with \" {}\"; cannot score letters",
           mmlu_letter(i));
    cont[size_t(i)].assign(full.begin() + ptrdiff_t(ctx.size()), full.end());
  }
  MmluLetterTokens t;
  t.cont = cont;
  return t;
}

int mmlu_pick(const std::array<double, 4>& loglik) {
  int best = 0;
  for (int i = 1; i < 4; ++i)
    if (loglik[size_t(i)] > loglik[size_t(best)]) best = i;
  return best;
}

double MmluResult::category_accuracy(size_t c) const {
  return category_n[c] > 0 ? double(category_correct[c]) / double(category_n[c]) : 0.0;
}

MmluResult evaluate_mmlu(const model::Model& model, const tok::Tokenizer& tok,
                         const MmluOptions& opts, ThreadPool& pool,
                         const MmluProgressFn& progress) {
  if (opts.shots < 0 || opts.shots > 5) fail("MMLU: --shots {} outside 0..5", opts.shots);
  std::vector<std::string> subjects = opts.subjects;
  if (subjects.empty())
    for (std::string_view s : mmlu_subjects()) subjects.emplace_back(s);
  for (const std::string& s : subjects) (void)mmlu_category(s);  // unknown names fail early

  Timer timer;
  const MmluLetterTokens letters = mmlu_letter_tokens(tok);
  const bool bos = tok.add_bos_by_default() && tok.bos_id() >= 0;
  const int64_t max_ctx =
      model.config().context_length > 0 ? model.config().context_length : kFallbackContext;
  int64_t longest_letter = 0;
  for (const auto& c : letters.cont) longest_letter = std::max(longest_letter, int64_t(c.size()));
  // A prompt needs at least one token of its own before the answer.
  if (max_ctx < longest_letter + 1)
    fail("MMLU: the model's context length ({} tokens) is too short: the answer alone takes {} "
         "and the prompt needs at least one more",
         max_ctx, longest_letter);
  MmluResult res;
  std::vector<float> logits, cont_logits;
  for (size_t si = 0; si < subjects.size(); ++si) {
    const std::string& subject = subjects[si];
    const std::vector<MmluQuestion> dev = read_mmlu_split(opts.data_dir, subject, "dev");
    std::vector<MmluQuestion> test = read_mmlu_split(opts.data_dir, subject, "test");
    if (int64_t(dev.size()) < opts.shots)
      fail("MMLU: {} has {} dev questions, fewer than {} shots", subject, dev.size(), opts.shots);
    if (opts.limit > 0 && int64_t(test.size()) > opts.limit) test.resize(size_t(opts.limit));
    MmluSubjectResult sr;
    sr.subject = subject;
    sr.category = std::string(mmlu_category(subject));

    // Every prompt's tokens, dropping shots until it fits.
    std::vector<std::vector<int32_t>> prompts;
    for (const MmluQuestion& q : test) {
      std::vector<int32_t> ids;
      for (int64_t k = opts.shots; k >= 0; --k) {
        std::string text = mmlu_prompt_header(subject);
        for (int64_t e = 0; e < k; ++e) text += mmlu_format_question(dev[size_t(e)], true);
        text += mmlu_format_question(q, false);
        ids = tok.encode(text, bos);
        if (int64_t(ids.size()) + longest_letter <= max_ctx) {
          sr.fewer_shots += k < opts.shots ? 1 : 0;
          break;
        }
        if (k == 0) {
          ids.erase(ids.begin(), ids.end() - (max_ctx - longest_letter));
          ++sr.truncated;
        }
      }
      prompts.push_back(std::move(ids));
    }
    if (prompts.empty()) continue;

    // The shared prefix runs once; each question continues from a copy of its cache.
    size_t prefix = prompts[0].size() - 1, longest = 0;
    for (const auto& p : prompts) {
      prefix = std::min({prefix, common_prefix(prompts[0], p), p.size() - 1});
      longest = std::max(longest, p.size());
    }
    const int64_t capacity = int64_t(longest) + longest_letter;
    model::KvCache prefix_cache(model.config(), capacity);
    if (prefix > 0) {
      model.forward(std::span(prompts[0]).first(prefix), prefix_cache, pool, model::Logits::last,
                    logits, opts.observer);
      res.tokens_run += int64_t(prefix);
    }
    model::KvCache cache(model.config(), capacity), cont_cache(model.config(), capacity);
    for (size_t qi = 0; qi < test.size(); ++qi) {
      cache = prefix_cache;
      const std::span<const int32_t> rest = std::span(prompts[qi]).subspan(prefix);
      model.forward(rest, cache, pool, model::Logits::last, logits, opts.observer);
      res.tokens_run += int64_t(rest.size());
      res.tokens_reused += int64_t(prefix);
      ++sr.n;
      std::array<double, 4> loglik{};
      const double lse = log_sum_exp(logits);
      for (size_t l = 0; l < 4; ++l) {
        const std::vector<int32_t>& c = letters.cont[l];
        loglik[l] = double(logits[size_t(c[0])]) - lse;
        if (c.size() < 2) continue;
        cont_cache = cache;
        model.forward(std::span(c).first(c.size() - 1), cont_cache, pool, model::Logits::all,
                      cont_logits, opts.observer);
        res.tokens_run += int64_t(c.size() - 1);
        const int64_t V = model.config().n_vocab;
        for (size_t j = 1; j < c.size(); ++j) {
          const std::span<const float> row(cont_logits.data() + int64_t(j - 1) * V, size_t(V));
          loglik[l] += double(row[size_t(c[j])]) - log_sum_exp(row);
        }
      }
      sr.picks.push_back(mmlu_pick(loglik));
      sr.correct += sr.picks.back() == test[qi].answer ? 1 : 0;
    }
    const size_t c = size_t(std::find(kMmluCategories.begin(), kMmluCategories.end(), sr.category) -
                            kMmluCategories.begin());
    FPTQ_CHECK(c < kMmluCategories.size());
    res.category_n[c] += sr.n;
    res.category_correct[c] += sr.correct;
    res.n += sr.n;
    res.correct += sr.correct;
    res.subjects.push_back(std::move(sr));
    if (progress)
      progress({int64_t(si + 1), int64_t(subjects.size()), &res.subjects.back(), res.n,
                res.correct, timer.elapsed()});
  }
  res.seconds = timer.elapsed();
  return res;
}

}  // namespace fptq::eval
