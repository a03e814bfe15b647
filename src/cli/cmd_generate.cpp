// fptq generate MODEL -p TEXT -n N: text continuation, streamed to stdout.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_notes.h"
#include "cli/utf8.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "model/sampling.h"
#include "quant/emulation_observer.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

// The token budget of a model whose file states no context length.
constexpr int64_t kMaxUnknownContext = 131072;

struct GenerateArgs {
  std::string model;
  std::string prompt;
  int64_t n_predict = 128;
  model::SamplingParams sampling;
  int threads = 1;
  bool emulate = false;
};

// Writes the text of a growing token sequence to stdout as it grows, never
// splitting a UTF-8 character: each update prints the new complete bytes of
// decode(ids).
class TextStream {
 public:
  explicit TextStream(const tok::Tokenizer& tok) : tok_(tok) {}
  void update(const std::vector<int32_t>& ids, bool final) {
    const std::string text = tok_.decode(ids);
    const size_t end = final ? text.size() : complete_utf8_prefix(text);
    if (end > printed_) {
      std::fwrite(text.data() + printed_, 1, end - printed_, stdout);
      std::fflush(stdout);
      printed_ = end;
    }
  }

 private:
  const tok::Tokenizer& tok_;
  size_t printed_ = 0;
};

void run_generate(const GenerateArgs& a) {
  if (a.n_predict < 0) fail("-n {} must not be negative", a.n_predict);
  ThreadPool pool(a.threads);
  const auto model = model::Model::load(
      a.model, pool, {a.emulate ? model::RunMode::emulate : model::RunMode::integer});
  // Emulation: F32 on the dequantized weights, activations fake-quantized at
  // every matmul input exactly as the integer engine quantizes them.
  std::unique_ptr<quant::EmulationObserver> emulation;
  if (a.emulate) emulation = std::make_unique<quant::EmulationObserver>(model->act_spec());
  fmt::print(stderr, "{}\n", model->describe());
  note_unused_tensors(model->file(), model->config());
  const auto tok = tok::Tokenizer::from_metadata(model->file().metadata, model->file().path);
  model::Sampler sampler(a.sampling);

  std::vector<int32_t> ids;
  if (a.prompt.empty()) {
    if (tok->bos_id() < 0) fail("{}: empty prompt and the tokenizer has no BOS", a.model);
    ids.push_back(tok->bos_id());
  } else {
    ids = tok->encode(a.prompt, tok->add_bos_by_default() && tok->bos_id() >= 0);
  }
  if (ids.empty()) fail("the prompt gives no tokens");
  const int64_t n_prompt = int64_t(ids.size());
  // The cache is sized from the options: bound them by the model's context
  // before allocating (a model without one: kMaxUnknownContext).
  const int64_t ctx = model->config().context_length > 0 ? model->config().context_length
                                                         : kMaxUnknownContext;
  if (n_prompt >= ctx)
    fail("the prompt is {} tokens; the model's context holds {}: shorten the prompt", n_prompt, ctx);
  int64_t n_predict = a.n_predict;
  if (n_predict > ctx - n_prompt) {
    n_predict = ctx - n_prompt;
    fmt::print(stderr, "generate: -n {} capped to {}: the prompt ({}) and the new tokens fill the "
                       "model's context ({})\n",
               a.n_predict, n_predict, n_prompt, ctx);
  }

  model::KvCache cache(model->config(), n_prompt + std::max<int64_t>(n_predict, 1));
  TextStream out(*tok);
  out.update(ids, false);  // echo the prompt

  std::vector<float> logits;
  Timer prompt_timer;
  model->forward(ids, cache, pool, model::Logits::last, logits, emulation.get());
  const double prompt_s = prompt_timer.elapsed();

  Timer gen_timer;
  int64_t generated = 0, decode_steps = 0;
  while (generated < n_predict) {
    for (float v : logits)
      if (!std::isfinite(v))
        fail("the model produced a non-finite logit ({}) at token {}: its weights or activations "
             "overflow (try `fptq perplexity --f32` on the base model)",
             v, n_prompt + generated);
    const int32_t next = sampler.sample(logits);
    if (tok->is_end_of_generation(next)) break;
    ids.push_back(next);
    ++generated;
    out.update(ids, false);
    if (generated == n_predict) break;
    const int32_t one[1] = {next};
    model->forward(one, cache, pool, model::Logits::last, logits, emulation.get());
    ++decode_steps;
  }
  const double gen_s = gen_timer.elapsed();
  out.update(ids, true);
  std::fputc('\n', stdout);
  std::fflush(stdout);

  fmt::print(stderr,
             "prompt: {} tokens in {:.3f} s ({:.1f} tokens/s); generation: {} tokens, {} decode "
             "steps in {:.3f} s ({:.1f} tokens/s); threads {}, ISA {}, {} engine\n",
             n_prompt, prompt_s, double(n_prompt) / std::max(prompt_s, 1e-9), generated,
             decode_steps, gen_s, double(decode_steps) / std::max(gen_s, 1e-9), pool.size(),
             kernels::isa_name(kernels::active_isa()), model::run_mode_name(model->mode()));
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "generate",
      "Continue a prompt, streaming the text to stdout (greedy unless --temp > 0); timings go to "
      "stderr. An empty prompt starts from BOS; generation stops at end-of-generation tokens.");
  auto a = std::make_shared<GenerateArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-p,--prompt", a->prompt, "prompt text (default: empty, start from BOS)");
  cmd->add_option("-n,--n-predict", a->n_predict, "tokens to generate")->capture_default_str();
  cmd->add_option("--temp", a->sampling.temperature, "sampling temperature; 0 = greedy")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", a->sampling.top_k, "keep the k most likely tokens (0 = all)")
      ->capture_default_str()
      ->check(non_negative_integer());
  cmd->add_option("--top-p", a->sampling.top_p, "nucleus sampling mass in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--seed", a->sampling.seed, "random seed (sampling is deterministic per seed)")
      ->capture_default_str();
  cmd->add_flag("--emulate", a->emulate,
                  "run quantized layers in F32 on the dequantized weights with fake-quantized "
                  "activations (the exact emulation) instead of the integer kernels");
  add_threads_option(*cmd, &a->threads);
  cmd->callback([a] { run_generate(*a); });
}

}  // namespace fptq::cli
