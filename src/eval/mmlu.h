// MMLU accuracy of a model (Hendrycks et al.): k-shot prompts from the dev
// split (mmlu_data.h), the answer picked by comparing the log-likelihoods of
// the four answer letters " A" .. " D" as the continuation of "Answer:".
//
// Letters: the tokenizer's continuation tokens of "Answer:" -> "Answer: X"
// are found once. Each letter's log-likelihood is the sum of the
// log-softmax of its continuation tokens (one token for byte-level BPE
// tokenizers; a letter that takes more, as with small SentencePiece vocabularies,
// runs its extra tokens from a copy of the prompt's cache).
//
// Prompts longer than the model's context drop shots (5, 4, ... 0) until they
// fit, as the MMLU paper's evaluation does; a 0-shot prompt that still does
// not fit keeps its last tokens. Both are counted. Within a subject, the token
// prefix shared by all its prompts (header + shots) runs once and its KV cache
// is copied for each question: the results are those of running every prompt
// from an empty cache (the engine's logits do not depend on how a sequence is
// split into forward calls).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "eval/mmlu_data.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace fptq::eval {

struct MmluOptions {
  std::string data_dir;               // holds dev/ and test/
  int64_t limit = 0;                  // first N test questions per subject; <= 0: all
  int64_t shots = 5;                  // examples from the dev split, 0..5
  std::vector<std::string> subjects;  // empty: all 57
  model::Observer* observer = nullptr;  // e.g. quant::EmulationObserver; not owned
};

// The continuation tokens of " A" .. " D" after "Answer:". Throws
// fptq::Error when the tokenizer merges "Answer:" with a letter.
struct MmluLetterTokens {
  std::array<std::vector<int32_t>, 4> cont;
};
MmluLetterTokens mmlu_letter_tokens(const tok::Tokenizer& tok);

// The choice with the largest log-likelihood; the lowest index among equal
// values.
int mmlu_pick(const std::array<double, 4>& loglik);

struct MmluSubjectResult {
  std::string subject;
  std::string category;
  int64_t n = 0, correct = 0;
  int64_t fewer_shots = 0;  // prompts that dropped shots to fit the context
  int64_t truncated = 0;    // 0-shot prompts cut to the context
  std::vector<int> picks;   // the chosen choice per question, 0..3
  double accuracy() const { return n > 0 ? double(correct) / double(n) : 0.0; }
};

struct MmluResult {
  std::vector<MmluSubjectResult> subjects;
  std::array<int64_t, 4> category_n{}, category_correct{};  // kMmluCategories order
  int64_t n = 0, correct = 0;
  int64_t tokens_run = 0, tokens_reused = 0;  // forwarded vs served from a cached prefix
  double seconds = 0;
  double category_accuracy(size_t c) const;
  // Micro average over all questions (each subject weighs its question count).
  double accuracy() const { return n > 0 ? double(correct) / double(n) : 0.0; }
};

struct MmluProgress {
  int64_t subject = 0, n_subjects = 0;  // subjects done
  const MmluSubjectResult* last = nullptr;
  int64_t n = 0, correct = 0;  // so far
  double seconds = 0;
};
using MmluProgressFn = std::function<void(const MmluProgress&)>;

// Evaluates `model`. Throws fptq::Error on missing or malformed files, an
// unknown subject, shots outside 0..5 or more shots than the dev split has.
MmluResult evaluate_mmlu(const model::Model& model, const tok::Tokenizer& tok,
                         const MmluOptions& opts, ThreadPool& pool,
                         const MmluProgressFn& progress = {});

}  // namespace fptq::eval
