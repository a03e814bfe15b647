// fptq info MODEL: architecture, hyperparameters, tokenizer, tensors.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "io/model_file.h"
#include "model/config.h"
#include "model/engine_plan.h"
#include "model/quant_spec.h"
#include "model/weights.h"
#include "quant/convert_tensor.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

uint64_t size_on_disk(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) return fs::file_size(path);
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(path)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

std::string token_label(const tok::Tokenizer& t, int32_t id) {
  if (id < 0) return "none";
  return fmt::format("{} '{}'", id, t.token_text(id));
}

// The fptq.* keys of a file written by `fptq quantize`: scheme, weights,
// policy, calibration provenance and the per-layer activation quantizers.
void print_fptq_section(const io::ModelFile& file, const model::LlamaConfig& c) {
  const model::QuantSpec s = model::read_quant_spec(file, c.n_layer);
  if (!s.present) return;
  fmt::print("fptq quantization:\n");
  fmt::print("  scheme:          {} (written by {})\n", s.scheme, s.tool_version);
  fmt::print("  weights:         {}, group {}, scale rule {}\n", s.weight_method,
             s.group_size == 0 ? std::string("per-channel") : std::to_string(s.group_size),
             s.scale_rule);
  if (file.metadata.contains(quant::kRecipeKey))
    fmt::print("  recipe:          {}\n",
               file.metadata.get_string(quant::kRecipeKey, "", file.path));
  fmt::print("  policy:          v0 = {:g}, v1 = {:g}\n", s.v0, s.v1);
  fmt::print("  calibration:     {}, {} × {} tokens, seed {}{}\n", s.calib_source, s.calib_samples,
             s.calib_seqlen, s.calib_seed,
             s.calib_digest.empty() ? "" : ", sha256 " + s.calib_digest);
  if (file.metadata.contains(quant::kActClipKey))
    fmt::print("  static scales:   p{:g} of |x| after LAE (--act-clip), not the max\n",
               file.metadata.get_float(quant::kActClipKey, file.path));
  int n_static = 0, n_lae = 0, n_dynamic = 0, n_fp = 0, n_iso = 0;
  for (const auto& layer : s.layers) {
    for (const model::PointQuant& q : layer) {
      n_static += q.mode == model::ActQuant::static_ && !q.lae;
      n_lae += q.mode == model::ActQuant::static_ && q.lae;
      n_dynamic += q.mode == model::ActQuant::dynamic;
      n_fp += q.mode == model::ActQuant::fp;
      n_iso += q.isolate;
    }
  }
  if (n_iso > 0)
    fmt::print(
        "  isolation:       {} static point(s) quantize outlier tokens per token "
        "(Δ_t = max(Δ, max|x_t|/127); marked *)\n",
        n_iso);
  fmt::print("  activations:     static {}, LAE+static {}, dynamic {}, fp {}; output head {}\n",
             n_static, n_lae, n_dynamic, n_fp, model::act_quant_name(s.output.mode));
  auto cell = [](const model::PointQuant& q) {
    if (q.mode == model::ActQuant::static_)
      return fmt::format("{}{:.3g}{}", q.lae ? "LAE Δ=" : "Δ=", q.scale, q.isolate ? "*" : "");
    return std::string(model::act_quant_name(q.mode));
  };
  fmt::print("  {:<6} {:<16} {:<16} {:<16} {:<16}\n", "layer", "attn_qkv_in", "attn_out_in",
             "ffn_gate_up_in", "ffn_down_in");
  for (size_t l = 0; l < s.layers.size(); ++l) {
    const auto& L = s.layers[l];
    fmt::print("  {:<6} {:<16} {:<16} {:<16} {:<16}\n", l, cell(L[0]), cell(L[1]), cell(L[2]),
               cell(L[3]));
  }
}

void run_info(const std::string& path) {
  auto file = io::open_model(path);
  const model::LlamaConfig c = model::read_config(*file);
  auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);

  fmt::print("file: {} ({}{}, {} bytes)\n", file->path, file->format,
             file->format == "gguf" ? fmt::format(" v{}", file->gguf_version) : "",
             size_on_disk(path));
  fmt::print("architecture: {}\n", c.architecture);
  fmt::print("  layers:          {}\n", c.n_layer);
  fmt::print("  embedding:       {}\n", c.dim);
  fmt::print("  feed-forward:    {}\n", c.ffn_dim);
  fmt::print("  heads:           {} (KV heads {}, head dim {})\n", c.n_head, c.n_kv_head,
             c.head_dim);
  fmt::print("  rope:            {} dims, base {}, {}\n", c.n_rot, c.rope_freq_base,
             c.rope_style == model::RopeStyle::normal ? "normal (adjacent pairs)" : "neox");
  fmt::print("  rms eps:         {}\n", c.rms_eps);
  fmt::print("  context length:  {}\n", c.context_length);
  if (c.sliding_window > 0)
    fmt::print(
        "  attention:       sliding window of {} positions (keys p-{}..p; llama.cpp ignores "
        "it on llama-architecture files)\n",
        c.sliding_window, c.sliding_window - 1);
  fmt::print("  vocab:           {}\n", c.n_vocab);
  fmt::print("  output head:     {}\n", c.tied_output ? "tied to token_embd" : "output.weight");
  fmt::print("  q/k/v bias:      {}\n", c.has_qkv_bias ? "yes" : "no");
  const std::vector<std::string> unused = model::unused_tensors(c, *file);
  if (!unused.empty())
    fmt::print("  unused tensors:  {} (the model never reads them): {}\n", unused.size(),
               fmt::join(unused, ", "));
  fmt::print("tokenizer: {}\n", tok->kind());
  fmt::print("  vocab:           {}\n", tok->n_vocab());
  fmt::print("  bos:             {}\n", token_label(*tok, tok->bos_id()));
  fmt::print("  eos:             {}\n", token_label(*tok, tok->eos_id()));
  fmt::print("  adds bos:        {}\n", tok->add_bos_by_default() ? "yes" : "no");

  print_fptq_section(*file, c);
  fmt::print("engine: {}\n", model::plan_engine(*file, c, model::RunMode::integer).describe());

  int64_t params = 0;
  uint64_t bytes = 0;
  for (const io::TensorInfo& t : file->tensors) {
    params += t.n_elements();
    bytes += t.nbytes;
  }
  fmt::print("parameters: {} ({:.3f} M), tensor data {} bytes\n", params, double(params) / 1e6,
             bytes);
  fmt::print("tensors: {}\n", file->tensors.size());
  for (const io::TensorInfo& t : file->tensors) {
    fmt::print("  {:<28} {:<6} [{}] {} bytes\n", t.name, io::type_info(t.type).name,
               fmt::join(t.ne, ", "), t.nbytes);
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "info", "Show a model's architecture, hyperparameters, tokenizer and tensors");
  auto path = std::make_shared<std::string>();
  cmd->add_option("MODEL", *path, "GGUF file or Hugging Face model directory")->required();
  cmd->callback([path] { run_info(*path); });
}

}  // namespace fptq::cli
