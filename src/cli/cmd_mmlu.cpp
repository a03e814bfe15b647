// fptq mmlu MODEL --data DIR: MMLU accuracy per category and on average.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/eval_model.h"
#include "cli/model_notes.h"
#include "core/thread_pool.h"
#include "eval/mmlu.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct MmluArgs {
  std::string model;
  std::string data;
  int64_t limit = 0;
  int64_t shots = 5;
  std::string subjects;
  bool emulate = false;
  bool f32 = false;
  bool per_subject = false;
  int threads = 1;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

void run_mmlu(const MmluArgs& a) {
  ThreadPool pool(a.threads);
  const EvalModel m = load_eval_model(a.model, pool, eval_engine(a.emulate, a.f32));
  note_unused_tensors(m.model->file(), m.model->config());
  const auto tok = tok::Tokenizer::from_metadata(m.model->file().metadata, m.model->file().path);
  eval::MmluOptions o;
  o.data_dir = a.data;
  o.limit = a.limit;
  o.shots = a.shots;
  o.subjects = split_commas(a.subjects);
  o.observer = m.observer();
  auto progress = [](const eval::MmluProgress& p) {
    fmt::print(stderr, "[{}/{}] {}: {}/{}  (so far {:.2f}% of {})  {:.0f} s\n", p.subject,
               p.n_subjects, p.last->subject, p.last->correct, p.last->n,
               p.n ? 100.0 * double(p.correct) / double(p.n) : 0.0, p.n, p.seconds);
  };
  const eval::MmluResult r = eval::evaluate_mmlu(*m.model, *tok, o, pool, progress);

  fmt::print("MMLU {}-shot, {} ({} questions{})\n", a.shots, a.model, r.n,
             a.limit > 0 ? fmt::format(", at most {} per subject", a.limit) : std::string());
  if (a.per_subject) {
    fmt::print("\n| subject | category | questions | accuracy |\n|---|---|---:|---:|\n");
    for (const auto& s : r.subjects)
      fmt::print("| {} | {} | {} | {:.2f}% |\n", s.subject, s.category, s.n, 100 * s.accuracy());
  }
  fmt::print("\n| category | questions | accuracy |\n|---|---:|---:|\n");
  for (size_t c = 0; c < eval::kMmluCategories.size(); ++c)
    fmt::print("| {} | {} | {:.2f}% |\n", eval::kMmluCategories[c], r.category_n[c],
               100 * r.category_accuracy(c));
  fmt::print("| average (all questions) | {} | {:.2f}% |\n", r.n, 100 * r.accuracy());
  int64_t fewer = 0, cut = 0;
  for (const auto& s : r.subjects) {
    fewer += s.fewer_shots;
    cut += s.truncated;
  }
  fmt::print("\nprompts with fewer shots to fit the context: {}; cut to the context: {}\n", fewer,
             cut);
  fmt::print("tokens run: {}, served from a cached few-shot prefix: {}; time: {:.1f} s\n",
             r.tokens_run, r.tokens_reused, r.seconds);
  fmt::print("engine: {}\n", m.engine);
}

}  // namespace

void add_mmlu_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "mmlu",
      "MMLU accuracy: k-shot prompts (default 5) from the dev split in the standard format "
      "(\"The following are multiple choice questions (with answers) about <subject>.\"), the "
      "answer chosen by the largest log-likelihood of \" A\"/\" B\"/\" C\"/\" D\" after "
      "\"Answer:\". Prints accuracy per category (humanities, STEM, social sciences, other) and "
      "the average over all questions. Quantized GGUFs run on the integer engine (--emulate: "
      "F32 path with exact activation emulation). "
      "Progress per subject on stderr.");
  auto a = std::make_shared<MmluArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("--data", a->data, "MMLU folder holding dev/ and test/ (<subject>_<split>.csv)")
      ->required();
  cmd->add_option("--limit", a->limit,
                  "evaluate only the first N test questions of each subject (default: all)")
      ->check(non_negative_integer());
  cmd->add_option("--shots", a->shots, "examples from the dev split, 0..5")
      ->check(CLI::Range(0, 5))
      ->capture_default_str();
  cmd->add_option("--subjects", a->subjects, "comma-separated subjects (default: all 57)");
  cmd->add_flag("--per-subject", a->per_subject, "also print one row per subject");
  cmd->add_flag("--emulate", a->emulate,
                "run on the F32 path with exact int8 activation emulation (default: the integer engine)");
  cmd->add_flag("--f32", a->f32,
                "run every layer in F32 on the dequantized weights, nothing quantized at run time "
                "(the FP reference of a file, e.g. for --kl-base)");
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_mmlu(*a); });
}

}  // namespace fptq::cli
