// fptq info MODEL: architecture, hyperparameters, tokenizer, tensors.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "io/model_file.h"
#include "model/config.h"
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
  fmt::print("  vocab:           {}\n", c.n_vocab);
  fmt::print("  output head:     {}\n", c.tied_output ? "tied to token_embd" : "output.weight");
  fmt::print("  q/k/v bias:      {}\n", c.has_qkv_bias ? "yes" : "no");
  fmt::print("tokenizer: {}\n", tok->kind());
  fmt::print("  vocab:           {}\n", tok->n_vocab());
  fmt::print("  bos:             {}\n", token_label(*tok, tok->bos_id()));
  fmt::print("  eos:             {}\n", token_label(*tok, tok->eos_id()));
  fmt::print("  adds bos:        {}\n", tok->add_bos_by_default() ? "yes" : "no");

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
