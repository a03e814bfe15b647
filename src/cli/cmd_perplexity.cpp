// fptq perplexity MODEL -f FILE: perplexity under the llamacpp or gptq protocol.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/perplexity.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct PerplexityArgs {
  std::string model;
  std::string file;
  std::string protocol = "llamacpp";
  int64_t ctx = 0;
  int64_t chunks = 0;
  int64_t batch = 512;
  int threads = 1;
};

void run_perplexity(const PerplexityArgs& a) {
  eval::PerplexityOptions opts;
  opts.protocol = eval::parse_protocol(a.protocol);
  opts.ctx = a.ctx;
  opts.max_chunks = a.chunks;
  opts.batch = a.batch;
  const char* isa = kernels::isa_name(kernels::active_isa());

  ThreadPool pool(a.threads);
  Timer load_timer;
  const auto model = model::Model::load(a.model, pool);
  const auto tok = tok::Tokenizer::from_metadata(model->file().metadata, model->file().path);
  const std::string text = read_text_file(a.file);
  const std::vector<int32_t> tokens = eval::tokenize_for_perplexity(*tok, text);
  fmt::print(stderr, "loaded and tokenized in {:.2f} s: {} tokens\n", load_timer.elapsed(),
             tokens.size());

  double last_report = -1;
  auto progress = [&](const eval::PerplexityProgress& p) {
    if (p.window != p.n_windows && p.seconds - last_report < 1.0) return;
    last_report = p.seconds;
    fmt::print(stderr, "[{}/{}] PPL {:.4f}  {:.1f} s, {:.1f} tokens/s\n", p.window, p.n_windows,
               p.so_far.ppl, p.seconds,
               double(p.window) * double(opts.ctx > 0 ? opts.ctx : eval::default_ctx(opts.protocol)) /
                   std::max(p.seconds, 1e-9));
  };
  const eval::PerplexityResult r = eval::perplexity(*model, *tok, tokens, opts, pool, progress);

  fmt::print("PPL = {:.4f} ± {:.4f}\n", r.stats.ppl, r.stats.ppl_stderr);
  fmt::print("tokens: {} in the text, {} scored; windows: {} of {} tokens; protocol: {}{}; "
             "ISA: {}; threads: {}; time: {:.2f} s\n",
             r.n_tokens, r.stats.n, r.n_windows, r.ctx, eval::protocol_name(r.protocol),
             r.bos_first ? " (BOS first)" : "", isa, pool.size(), r.seconds);
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "perplexity",
      "Perplexity of a model on a text file. Protocol llamacpp (default, ctx 512): "
      "non-overlapping windows starting with BOS, second half of each window scored. Protocol "
      "gptq (ctx 2048): every prediction scored. The tail shorter than a window is dropped.");
  auto a = std::make_shared<PerplexityArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-f,--file", a->file, "text file (e.g. wikitext-2-raw test)")->required();
  cmd->add_option("--protocol", a->protocol, "llamacpp or gptq")
      ->check(CLI::IsMember({"llamacpp", "gptq"}))
      ->capture_default_str();
  cmd->add_option("-c,--ctx", a->ctx, "window length in tokens (default: 512 llamacpp, 2048 gptq)");
  cmd->add_option("--chunks", a->chunks, "evaluate only the first N windows (default: all)");
  cmd->add_option("-b,--batch", a->batch, "tokens per forward batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_perplexity(*a); });
}

}  // namespace fptq::cli
