// fptq perplexity MODEL -f FILE: perplexity under the llamacpp or gptq
// protocol; quantized models run with exact activation emulation; with
// --kl-base, KL divergence and top-1 agreement against a saved FP run.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/eval_model.h"
#include "cli/model_notes.h"
#include "cli/stream_progress.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
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
  bool emulate = false;
  bool f32 = false;
  std::string kl_base;
  int64_t kl_top_k = eval::kDefaultKlTopK;
  int threads = 1;
  bool quiet = false;
  std::string progress = "text";
};

void print_ppl(const eval::PerplexityResult& r, const EvalModel& m, int threads) {
  fmt::print("PPL = {:.4f} ± {:.4f}\n", r.stats.ppl, r.stats.ppl_stderr);
  fmt::print("tokens: {} in the text, {} scored; windows: {} of {} tokens; protocol: {}{}; "
             "threads: {}; time: {:.2f} s\n",
             r.n_tokens, r.stats.n, r.n_windows, r.ctx, eval::protocol_name(r.protocol),
             r.bos_first ? " (BOS first)" : "", threads, r.seconds);
  fmt::print("engine: {}\n", m.engine);
}

void run_perplexity(const PerplexityArgs& a) {
  eval::PerplexityOptions opts;
  opts.protocol = eval::parse_protocol(a.protocol);
  opts.ctx = a.ctx;
  opts.max_chunks = a.chunks;
  opts.batch = a.batch;

  // Compare mode when the base file exists; read it before the slow work.
  const bool compare = !a.kl_base.empty() && std::filesystem::exists(a.kl_base);
  eval::KlBase base;
  if (compare) base = eval::read_kl_base(a.kl_base);

  ThreadPool pool(a.threads);
  Timer load_timer;
  const EvalModel m = load_eval_model(a.model, pool, eval_engine(a.emulate, a.f32));
  opts = m.options(opts);
  note_unused_tensors(m.model->file(), m.model->config());
  const auto tok = tok::Tokenizer::from_metadata(m.model->file().metadata, m.model->file().path);
  const std::string text = read_text_file(a.file);
  const std::vector<int32_t> tokens = eval::tokenize_for_perplexity(*tok, text);
  fmt::print(stderr, "loaded and tokenized in {:.2f} s: {} tokens\n", load_timer.elapsed(),
             tokens.size());

  const int64_t ctx = a.ctx > 0 ? a.ctx : eval::default_ctx(opts.protocol);
  note_if_beyond_context(m.model->config(), ctx);
  double last_report = -1;
  auto progress = [&](const eval::PerplexityProgress& p) {
    if (a.quiet) return;
    if (p.window != p.n_windows && p.seconds - last_report < 1.0) return;
    last_report = p.seconds;
    const double rate = double(p.window) * double(ctx) / std::max(p.seconds, 1e-9);
    const double eta = p.window > 0 ? p.seconds * double(p.n_windows - p.window) / double(p.window)
                                    : -1.0;
    if (a.progress == "json") {
      print_progress_json("perplexity", "perplexity", p.window, p.n_windows, "windows", rate,
                          "tokens/s", p.seconds, eta, p.so_far.ppl);
      return;
    }
    fmt::print(stderr, "[{}/{}] PPL {:.4f}  {:.1f} s, {:.1f} tokens/s, ETA {}\n", p.window,
               p.n_windows, p.so_far.ppl, p.seconds, rate,
               eta < 0 ? std::string("?") : fmt::format("{:.1f} s", eta));
  };

  if (compare) {
    const eval::KlCompareRun r =
        eval::perplexity_vs_kl_base(*m.model, *tok, tokens, opts, base, pool, progress);
    print_ppl(r.ppl, m, pool.size());
    const eval::KlStats& k = r.kl;
    fmt::print("KL divergence vs {} ({} positions, base top-{} + tail bucket: a lower bound on the "
               "full-vocabulary KL; mean base mass outside the top-{}: {:.2e}):\n",
               a.kl_base, k.n, base.top_k, base.top_k, k.mean_tail_mass);
    fmt::print("  mean KLD = {:.6f} ± {:.6f}   median {:.6f}   p99 {:.6f}   max {:.6f}\n", k.mean,
               k.mean_stderr, k.median, k.p99, k.max);
    fmt::print("  top-1 agreement = {:.2f}% ± {:.2f}%\n", 100 * k.top1, 100 * k.top1_stderr);
    return;
  }
  if (!a.kl_base.empty()) {
    if (m.quantized_points > 0)
      fmt::print(stderr,
                 "note: the KL base is recorded with {} activation point(s) quantized at run time "
                 "({}); `--f32` records the FP reference that `fptq compare` uses\n",
                 m.quantized_points, m.engine);
    const eval::KlBaseRun r = eval::perplexity_record_kl_base(*m.model, *tok, tokens, opts, pool,
                                                              a.kl_top_k, progress);
    eval::write_kl_base(a.kl_base, r.base);
    print_ppl(r.ppl, m, pool.size());
    fmt::print("KL base written to {}: top-{} log-probabilities of {} positions\n", a.kl_base,
               r.base.top_k, r.base.n_positions());
    return;
  }
  print_ppl(eval::perplexity(*m.model, *tok, tokens, opts, pool, progress), m, pool.size());
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "perplexity",
      "Perplexity of a model on a text file. Protocol llamacpp (default, ctx 512): "
      "non-overlapping windows starting with BOS, second half of each window scored. Protocol "
      "gptq (ctx 2048): every prediction scored. The tail shorter than a window is dropped.\n"
      "Quantized GGUFs run on the integer engine (W4A8/W8A8), or with --emulate on the F32 path "
      "with their int8 activation quantizers emulated exactly.\n"
      "KL divergence: `--kl-base FILE` on the FP model (FILE absent) saves its top-K "
      "log-probabilities on the scored tokens with the token ids, protocol and ctx; on a "
      "quantized model (FILE present) it reports KL(P_FP || P_quant) mean/median/p99/max and "
      "top-1 agreement on the same tokens (the window count defaults to the base's).");
  auto a = std::make_shared<PerplexityArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-f,--file", a->file, "text file (e.g. wikitext-2-raw test)")->required();
  cmd->add_option("--protocol", a->protocol, "llamacpp or gptq")
      ->check(CLI::IsMember({"llamacpp", "gptq"}))
      ->capture_default_str();
  cmd->add_option("-c,--ctx", a->ctx, "window length in tokens (default: 512 llamacpp, 2048 gptq)");
  cmd->add_option("--chunks", a->chunks, "evaluate only the first N windows (default: all)");
  cmd->add_option("-b,--batch", a->batch, "tokens per forward batch")
      ->check(positive_integer())
      ->capture_default_str();
  cmd->add_flag("--emulate", a->emulate,
                "run on the F32 path with exact int8 activation emulation (default: the integer engine)");
  cmd->add_flag("--f32", a->f32,
                "run every layer in F32 on the dequantized weights, nothing quantized at run time "
                "(the FP reference of a file, e.g. for --kl-base)");
  cmd->add_option("--kl-base", a->kl_base,
                  "absent file: save the FP model's top-K log-probabilities there; existing "
                  "file: report KL divergence and top-1 agreement against it");
  cmd->add_option("--kl-top-k", a->kl_top_k, "log-probabilities kept per position when saving")
      ->check(positive_integer())
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", a->quiet, "no progress lines on stderr");
  cmd->add_option("--progress", a->progress,
                  "progress on stderr: text, or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_perplexity(*a); });
}

}  // namespace fptq::cli
