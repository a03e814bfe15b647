#include "io/hf_config.h"

#include <limits>

#include "core/error.h"
#include "io/json_file.h"
#include "io/model_file.h"

namespace fptq::io {
using nlohmann::json;

namespace {

struct ArchEntry {
  std::string_view hf_name;
  std::string_view family;
};
constexpr ArchEntry kArchitectures[] = {
    {"LlamaForCausalLM", "llama"},
    {"MistralForCausalLM", "mistral"},
    {"Qwen2ForCausalLM", "qwen2"},
};

int64_t positive(const json& cfg, std::string_view key, std::string_view where) {
  const int64_t v = json_int(cfg, key, where);
  if (v <= 0 || v > int64_t(std::numeric_limits<uint32_t>::max()))
    fail("{}: key '{}': {} out of range", where, key, v);
  return v;
}

// bos/eos ids may be an integer or (eos in newer configs) a list of them;
// the first one is used.
std::optional<int64_t> token_id(const json& cfg, std::string_view key, std::string_view where) {
  auto it = cfg.find(key);
  if (it != cfg.end() && it->is_array()) {
    if (it->empty()) return std::nullopt;
    json one = json::object();
    one[std::string(key)] = (*it)[0];
    return token_id(one, key, where);
  }
  auto v = json_opt_int(cfg, key, where);
  if (v && (*v < 0 || *v > int64_t(std::numeric_limits<uint32_t>::max())))
    fail("{}: key '{}': token id {} out of range", where, key, *v);
  return v;
}

}  // namespace

HfConfig parse_hf_config(const json& cfg, std::string_view where) {
  if (!cfg.is_object()) fail("{}: expected a JSON object", where);
  HfConfig c;

  auto archs = cfg.find("architectures");
  if (archs == cfg.end() || !archs->is_array() || archs->size() != 1 || !(*archs)[0].is_string())
    fail("{}: key 'architectures' must be a list with one class name", where);
  c.architecture = (*archs)[0].get<std::string>();
  for (const auto& a : kArchitectures)
    if (a.hf_name == c.architecture) c.family = std::string(a.family);
  if (c.family.empty())
    fail(
        "{}: unsupported architecture '{}' (supported: LlamaForCausalLM, MistralForCausalLM, "
        "Qwen2ForCausalLM)",
        where, c.architecture);

  c.n_layer = positive(cfg, "num_hidden_layers", where);
  // Per-layer tables are sized from this before any tensor is looked up.
  if (c.n_layer > kMaxLayers)
    fail("{}: num_hidden_layers = {} is beyond the {} layers fptq supports", where, c.n_layer,
         kMaxLayers);
  c.n_embd = positive(cfg, "hidden_size", where);
  c.n_ff = positive(cfg, "intermediate_size", where);
  c.n_head = positive(cfg, "num_attention_heads", where);
  c.n_head_kv = cfg.contains("num_key_value_heads") && !cfg["num_key_value_heads"].is_null()
                    ? positive(cfg, "num_key_value_heads", where)
                    : c.n_head;
  c.n_ctx = positive(cfg, "max_position_embeddings", where);
  c.n_vocab = positive(cfg, "vocab_size", where);
  c.rms_eps = json_number(cfg, "rms_norm_eps", where);
  if (!(c.rms_eps > 0 && c.rms_eps < 1))
    fail("{}: key 'rms_norm_eps': {} out of range", where, c.rms_eps);
  c.rope_theta = json_opt_number(cfg, "rope_theta", where).value_or(10000.0);
  if (!(c.rope_theta > 0 && c.rope_theta < 1e30))
    fail("{}: key 'rope_theta': {} out of range", where, c.rope_theta);

  if (c.n_head % c.n_head_kv != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", where, c.n_head,
         c.n_head_kv);
  if (auto hd = json_opt_int(cfg, "head_dim", where)) {
    c.head_dim = *hd;
  } else {
    if (c.n_embd % c.n_head != 0)
      fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", where, c.n_embd,
           c.n_head);
    c.head_dim = c.n_embd / c.n_head;
  }
  if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > 65536)
    fail("{}: head dimension {} must be positive and even", where, c.head_dim);

  if (auto it = cfg.find("rope_scaling"); it != cfg.end() && !it->is_null()) {
    std::string type = "?";
    if (it->is_object()) {
      if (auto t = it->find("rope_type"); t != it->end() && t->is_string())
        type = t->get<std::string>();
      else if (auto t2 = it->find("type"); t2 != it->end() && t2->is_string())
        type = t2->get<std::string>();
    }
    fail("{}: rope_scaling '{}' is not supported (only null)", where, type);
  }
  if (auto act = json_opt_string(cfg, "hidden_act", where); act && *act != "silu")
    fail("{}: hidden_act '{}' is not supported (only silu)", where, *act);
  if (json_opt_bool(cfg, "mlp_bias", where).value_or(false))
    fail("{}: mlp_bias is not supported", where);

  if (c.family == "qwen2") {
    c.attn_qkv_bias = true;
    if (json_opt_bool(cfg, "use_sliding_window", where).value_or(false))
      fail("{}: use_sliding_window is not supported", where);
  } else if (json_opt_bool(cfg, "attention_bias", where).value_or(false)) {
    fail("{}: attention_bias is not supported for {}", where, c.architecture);
  }
  if (c.family == "mistral") {
    if (auto w = json_opt_int(cfg, "sliding_window", where); w && *w < c.n_ctx) {
      if (*w <= 0) fail("{}: key 'sliding_window': {} out of range", where, *w);
      c.sliding_window = *w;
    }
  }

  c.tie_word_embeddings = json_opt_bool(cfg, "tie_word_embeddings", where).value_or(false);
  c.bos_token_id = token_id(cfg, "bos_token_id", where);
  c.eos_token_id = token_id(cfg, "eos_token_id", where);
  return c;
}

void add_hf_config_metadata(const HfConfig& c, Metadata& md) {
  auto u32 = [&](const char* key, int64_t v) { md.set(key, Value::make_int(ValueType::U32, v)); };
  md.set("general.architecture", Value::make_string("llama"));
  u32("llama.block_count", c.n_layer);
  u32("llama.context_length", c.n_ctx);
  u32("llama.embedding_length", c.n_embd);
  u32("llama.feed_forward_length", c.n_ff);
  u32("llama.attention.head_count", c.n_head);
  u32("llama.attention.head_count_kv", c.n_head_kv);
  md.set("llama.attention.layer_norm_rms_epsilon", Value::make_float(ValueType::F32, c.rms_eps));
  md.set("llama.rope.freq_base", Value::make_float(ValueType::F32, c.rope_theta));
  u32("llama.rope.dimension_count", c.head_dim);
  if (c.head_dim * c.n_head != c.n_embd) {
    u32("llama.attention.key_length", c.head_dim);
    u32("llama.attention.value_length", c.head_dim);
  }
  u32("llama.vocab_size", c.n_vocab);
  md.set("fptq.hf.architecture", Value::make_string(c.architecture));
  md.set("fptq.arch_family", Value::make_string(c.family));
  if (c.sliding_window) u32("fptq.attention.sliding_window", *c.sliding_window);
}

}  // namespace fptq::io
