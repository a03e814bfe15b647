#include "io/hf_model.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "io/hf_tokenizer.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace fptq::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::pair<std::string_view, std::string_view> kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};
// Per-layer suffixes after "model.layers.N." -> after "blk.N.".
constexpr std::pair<std::string_view, std::string_view> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"self_attn.rotary_emb.inv_freq", ""},
};

// One tensor the model needs: GGUF name, HF shape (outermost first), and
// the number of heads for a RoPE row permutation (0: none).
struct Expected {
  std::string name;
  std::vector<int64_t> shape;
  int64_t rope_heads = 0;
};

// Every tensor of the model described by `c`, in GGUF order.
std::vector<Expected> expected_tensors(const HfConfig& c) {
  const int64_t q = c.n_head * c.head_dim, kv = c.n_head_kv * c.head_dim;
  std::vector<Expected> e = {{"token_embd.weight", {c.n_vocab, c.n_embd}},
                             {"output_norm.weight", {c.n_embd}}};
  if (!c.tie_word_embeddings) e.push_back({"output.weight", {c.n_vocab, c.n_embd}});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    e.push_back({b + "attn_norm.weight", {c.n_embd}});
    e.push_back({b + "attn_q.weight", {q, c.n_embd}, c.n_head});
    e.push_back({b + "attn_k.weight", {kv, c.n_embd}, c.n_head_kv});
    e.push_back({b + "attn_v.weight", {kv, c.n_embd}});
    if (c.attn_qkv_bias) {
      e.push_back({b + "attn_q.bias", {q}, c.n_head});
      e.push_back({b + "attn_k.bias", {kv}, c.n_head_kv});
      e.push_back({b + "attn_v.bias", {kv}});
    }
    e.push_back({b + "attn_output.weight", {c.n_embd, q}});
    e.push_back({b + "ffn_norm.weight", {c.n_embd}});
    e.push_back({b + "ffn_gate.weight", {c.n_ff, c.n_embd}});
    e.push_back({b + "ffn_up.weight", {c.n_ff, c.n_embd}});
    e.push_back({b + "ffn_down.weight", {c.n_embd, c.n_ff}});
  }
  return e;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

GgmlType ggml_type_of(const SafetensorsTensor& t, std::string_view where) {
  if (t.dtype == "F32") return GgmlType::F32;
  if (t.dtype == "F16") return GgmlType::F16;
  if (t.dtype == "BF16") return GgmlType::BF16;
  fail("{}: tensor '{}': dtype {} is not supported (F32, F16, BF16)", where, t.name, t.dtype);
}

std::optional<json> read_optional_json(const fs::path& p) {
  if (!fs::exists(p)) return std::nullopt;
  return read_json_file(p);
}

}  // namespace

std::optional<std::string> hf_to_gguf_tensor_name(std::string_view hf) {
  for (const auto& [from, to] : kGlobalNames)
    if (hf == from) return std::string(to);
  constexpr std::string_view prefix = "model.layers.";
  if (hf.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = hf.substr(prefix.size());
  uint64_t layer = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (ec != std::errc() || p == rest.data() || *p != '.' || (rest[0] == '0' && p - rest.data() > 1))
    return std::nullopt;
  const std::string_view suffix = rest.substr(size_t(p - rest.data()) + 1);
  for (const auto& [from, to] : kLayerNames) {
    if (suffix != from) continue;
    if (to.empty()) return std::string();
    return "blk." + std::to_string(layer) + "." + std::string(to);
  }
  return std::nullopt;
}

void permute_rope_rows(const uint8_t* src, uint8_t* dst, int64_t n_rows, uint64_t row_bytes,
                       int64_t n_heads) {
  FPTQ_CHECK(n_heads > 0 && n_rows % n_heads == 0 && (n_rows / n_heads) % 2 == 0);
  const int64_t hd = n_rows / n_heads, half = hd / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t s = 0; s < 2; ++s)
        std::memcpy(dst + uint64_t(h * hd + 2 * i + s) * row_bytes,
                    src + uint64_t(h * hd + s * half + i) * row_bytes, row_bytes);
}

std::shared_ptr<const ModelFile> read_hf_model(const std::string& dir_str) {
  const fs::path dir(dir_str);
  const fs::path config_path = dir / "config.json";
  if (!fs::is_regular_file(config_path)) fail("{}: no config.json", dir_str);
  const json config_json = read_json_file(config_path);
  HfConfig cfg;
  try {
    cfg = parse_hf_config(config_json, config_path.string());
  } catch (const json::exception& e) {
    fail("{}: invalid config: {}", config_path.string(), e.what());
  }

  auto mf = std::make_shared<ModelFile>();
  mf->path = dir_str;
  mf->format = "safetensors";
  fs::path norm = dir.lexically_normal();
  if (norm.filename().empty()) norm = norm.parent_path();  // "dir/"
  mf->metadata.set("general.name", Value::make_string(norm.filename().string()));
  add_hf_config_metadata(cfg, mf->metadata);

  const fs::path tok_path = dir / "tokenizer.json";
  if (fs::exists(tok_path)) {
    const json tok = read_json_file(tok_path);
    const std::optional<json> tcfg = read_optional_json(dir / "tokenizer_config.json");
    HfTokenizerInputs in;
    in.tokenizer = &tok;
    in.tokenizer_config = tcfg ? &*tcfg : nullptr;
    in.n_vocab = cfg.n_vocab;
    in.bos_token_id = cfg.bos_token_id;
    in.eos_token_id = cfg.eos_token_id;
    add_hf_tokenizer_metadata(in, tok_path.string(), mf->metadata);
  }

  SafetensorsCheckpoint ck = read_safetensors_checkpoint(dir);
  const std::vector<Expected> expected = expected_tensors(cfg);
  std::map<std::string, const SafetensorsTensor*, std::less<>> by_gguf;
  std::map<std::string, std::string, std::less<>> file_of;
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    const SafetensorsTensor& t = *ck.tensors[i];
    const std::string& file = ck.files[ck.file_of[i]].path;
    const std::optional<std::string> g = hf_to_gguf_tensor_name(t.name);
    if (!g) fail("{}: tensor '{}': not a tensor of {}", file, t.name, cfg.architecture);
    if (g->empty()) continue;  // ignored (e.g. rotary_emb.inv_freq)
    if (*g == "output.weight" && cfg.tie_word_embeddings) continue;  // tied: the embedding is used
    by_gguf.emplace(*g, &t);
    file_of.emplace(*g, file);
  }
  // Every checkpoint tensor must be one the model expects.
  std::map<std::string, const Expected*, std::less<>> expected_by_name;
  for (const Expected& e : expected) expected_by_name.emplace(e.name, &e);
  for (const auto& [name, t] : by_gguf)
    if (!expected_by_name.count(name))
      fail("{}: tensor '{}': unexpected for this config ({} layers{})", file_of[name], t->name,
           cfg.n_layer, cfg.attn_qkv_bias ? "" : ", no attention biases");

  mf->storage.push_back(std::make_shared<SafetensorsCheckpoint>(std::move(ck)));
  for (const Expected& e : expected) {
    auto it = by_gguf.find(e.name);
    if (it == by_gguf.end())
      fail("{}: tensor for '{}' is missing from the checkpoint", dir_str, e.name);
    const SafetensorsTensor& st = *it->second;
    const std::string& file = file_of[e.name];
    if (st.shape != e.shape)
      fail("{}: tensor '{}': shape {} but config.json implies {}", file, st.name,
           shape_str(st.shape), shape_str(e.shape));
    TensorInfo ti;
    ti.name = e.name;
    ti.type = ggml_type_of(st, file);
    ti.ne.assign(st.shape.rbegin(), st.shape.rend());
    ti.nbytes = st.nbytes;
    ti.data = st.data;
    if (e.rope_heads > 0) {
      auto buf = std::make_shared<std::vector<uint8_t>>(st.nbytes);
      const int64_t rows = e.shape[0];
      permute_rope_rows(st.data, buf->data(), rows, st.nbytes / uint64_t(rows), e.rope_heads);
      ti.data = buf->data();
      mf->storage.push_back(std::move(buf));
    }
    mf->tensors.push_back(std::move(ti));
  }
  return mf;
}

}  // namespace fptq::io
