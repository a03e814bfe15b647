#include "model/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "core/error.h"
#include "model/weights.h"

namespace fptq::model {
namespace {

bool supported_architecture(const std::string& arch) {
  return arch == "llama" || arch == "mistral" || arch == "qwen2";
}

// Dims without trailing 1s, so that {64} and {64, 1} compare equal.
std::vector<int64_t> squeezed(std::vector<int64_t> ne) {
  while (ne.size() > 1 && ne.back() == 1) ne.pop_back();
  return ne;
}

}  // namespace

LlamaConfig read_config(const io::ModelFile& file) {
  const io::Metadata& md = file.metadata;
  const std::string& where = file.path;
  LlamaConfig c;
  c.architecture = md.get_string("general.architecture", where);
  if (!supported_architecture(c.architecture)) {
    fail("{}: unsupported architecture '{}' (fptq runs llama, mistral, qwen2)", where,
         c.architecture);
  }
  const std::string p = c.architecture + ".";
  c.n_layer = md.get_int(p + "block_count", where);
  c.dim = md.get_int(p + "embedding_length", where);
  c.ffn_dim = md.get_int(p + "feed_forward_length", where);
  c.n_head = md.get_int(p + "attention.head_count", where);
  c.n_kv_head = md.get_int(p + "attention.head_count_kv", c.n_head, where);
  c.context_length = md.get_int(p + "context_length", 0, where);
  c.rope_freq_base = md.get_float(p + "rope.freq_base", 10000.0, where);
  c.rms_eps = float(md.get_float(p + "attention.layer_norm_rms_epsilon", 1e-5, where));
  // llama.cpp reads no sliding window for llama-architecture files (Mistral
  // GGUFs are `llama`), so only the HF loader's key turns it on.
  c.sliding_window = md.get_int("fptq.attention.sliding_window", 0, where);

  auto positive = [&](std::string_view what, int64_t v) {
    if (v <= 0) fail("{}: {} = {} must be positive", where, what, v);
  };
  positive(p + "block_count", c.n_layer);
  if (c.n_layer > io::kMaxLayers)
    fail("{}: {}block_count = {} is beyond the {} layers fptq supports", where, p, c.n_layer,
         io::kMaxLayers);
  positive(p + "embedding_length", c.dim);
  positive(p + "feed_forward_length", c.ffn_dim);
  positive(p + "attention.head_count", c.n_head);
  positive(p + "attention.head_count_kv", c.n_kv_head);
  if (c.sliding_window < 0)
    fail("{}: fptq.attention.sliding_window = {} is negative", where, c.sliding_window);
  if (c.context_length < 0)
    fail("{}: {}context_length = {} is negative", where, p, c.context_length);
  if (!(c.rope_freq_base > 0))
    fail("{}: {}rope.freq_base = {} must be positive", where, p, c.rope_freq_base);
  if (!(c.rms_eps > 0 && c.rms_eps < 1))
    fail("{}: {}attention.layer_norm_rms_epsilon = {} must be in (0, 1)", where, p, c.rms_eps);
  if (!std::isfinite(c.rope_freq_base))
    fail("{}: {}rope.freq_base = {} must be finite", where, p, c.rope_freq_base);

  if (c.dim % c.n_head != 0) {
    fail("{}: embedding_length {} is not a multiple of head_count {}", where, c.dim, c.n_head);
  }
  c.head_dim = c.dim / c.n_head;
  if (c.n_head % c.n_kv_head != 0) {
    fail("{}: head_count {} is not a multiple of head_count_kv {}", where, c.n_head, c.n_kv_head);
  }
  c.n_rot = md.get_int(p + "rope.dimension_count", c.head_dim, where);
  if (c.n_rot <= 0 || c.n_rot % 2 != 0 || c.n_rot > c.head_dim) {
    fail("{}: rope.dimension_count {} must be even and in [2, head_dim = {}]", where, c.n_rot,
         c.head_dim);
  }

  const io::TensorInfo& embd = file.tensor("token_embd.weight");
  if (embd.ne.size() != 2) {
    fail("{}: tensor 'token_embd.weight' has {} dims, expected 2", where, embd.ne.size());
  }
  c.n_vocab = embd.ne[1];
  positive("rows of token_embd.weight", c.n_vocab);
  const int64_t vocab_key = md.get_int(p + "vocab_size", c.n_vocab, where);
  if (vocab_key != c.n_vocab) {
    fail("{}: {}vocab_size = {} but token_embd.weight has {} rows", where, p, vocab_key, c.n_vocab);
  }
  // Every token id the tokenizer can produce needs an embedding row (and a
  // logit): a larger vocabulary would index past the tensors mid-run.
  if (const io::Value* toks = md.find("tokenizer.ggml.tokens");
      toks && int64_t(toks->size()) > c.n_vocab)
    fail(
        "{}: the tokenizer has {} tokens but token_embd.weight has {} rows (ids from {} on have "
        "no embedding): the tokenizer does not belong to this model",
        where, toks->size(), c.n_vocab, c.n_vocab);
  c.tied_output = file.find_tensor("output.weight") == nullptr;
  c.has_qkv_bias = file.find_tensor(block_tensor_name(0, "attn_q", "bias")) != nullptr;
  c.rope_style =
      c.architecture == "qwen2" && file.format == "gguf" ? RopeStyle::neox : RopeStyle::normal;

  // Every tensor the model reads must be present with the expected shape.
  for_each_weight(c, [&](const WeightSpec& w) {
    const io::TensorInfo& t = file.tensor(w.name);
    if (squeezed(t.ne) != w.ne) {
      fail("{}: tensor '{}' has shape [{}], expected [{}] from the hyperparameters", where, w.name,
           fmt::join(t.ne, ", "), fmt::join(w.ne, ", "));
    }
  });
  return c;
}

}  // namespace fptq::model
