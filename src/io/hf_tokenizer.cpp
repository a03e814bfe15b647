#include "io/hf_tokenizer.h"

#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "io/json_file.h"

namespace fptq::io {
using nlohmann::json;

namespace {

constexpr int64_t kMaxVocab = int64_t(1) << 24;

// The pre-tokenizer regexes of the byte-level BPE families fptq supports, as
// they appear (after JSON unescaping) in a tokenizer.json Split pre-tokenizer.
constexpr std::string_view kLlama3Regex =
    R"RE((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)RE";
constexpr std::string_view kQwen2Regex =
    R"RE((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)RE";

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : std::string();
}

bool flag(const json& j, const char* key, bool dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : dflt;
}

// The pre-tokenizer steps (a Sequence flattened; a single one as a list of one).
std::vector<json> pre_steps(const json& tok) {
  auto it = tok.find("pre_tokenizer");
  if (it == tok.end() || it->is_null()) return {};
  if (type_of(*it) == "Sequence") {
    auto p = it->find("pretokenizers");
    if (p != it->end() && p->is_array()) return std::vector<json>(p->begin(), p->end());
    return {};
  }
  return {*it};
}

bool has_byte_level(const json& tok) {
  for (const json& s : pre_steps(tok))
    if (type_of(s) == "ByteLevel") return true;
  return false;
}

bool is_byte_token(const std::string& s) {
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

// "content" of an AddedToken-like value: a string, {"content": ...}, or null.
std::optional<std::string> token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    auto c = v.find("content");
    if (c != v.end() && c->is_string()) return c->get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

std::string hf_pre_tokenizer_name(const json& tok, std::string_view where) {
  const std::vector<json> steps = pre_steps(tok);
  auto byte_level = [](const json& s, bool use_regex) {
    return type_of(s) == "ByteLevel" && flag(s, "use_regex", true) == use_regex &&
           !flag(s, "add_prefix_space", false);
  };
  auto split_regex = [](const json& s) -> std::string {
    if (type_of(s) != "Split" || flag(s, "invert", false)) return {};
    auto b = s.find("behavior");
    if (b == s.end() || *b != "Isolated") return {};
    auto p = s.find("pattern");
    if (p == s.end() || !p->is_object() || !p->contains("Regex") || !(*p)["Regex"].is_string())
      return {};
    return (*p)["Regex"].get<std::string>();
  };
  if (steps.size() == 1 && byte_level(steps[0], true)) return "gpt2";
  if (steps.size() == 2 && type_of(steps[0]) == "Digits" &&
      flag(steps[0], "individual_digits", false) && byte_level(steps[1], true))
    return "smollm";
  if (steps.size() == 2 && byte_level(steps[1], false)) {
    const std::string re = split_regex(steps[0]);
    if (re == kLlama3Regex) return "llama-bpe";
    if (re == kQwen2Regex) return "qwen2";
  }
  std::string desc = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"].dump() : "null";
  if (desc.size() > 120) desc = desc.substr(0, 117) + "...";
  fail("{}: pre_tokenizer not recognised (supported: gpt2, smollm, llama-bpe, qwen2): {}", where,
       desc);
}

namespace {

void add_metadata(const HfTokenizerInputs& in, std::string_view where, Metadata& md) {
  FPTQ_CHECK(in.tokenizer != nullptr);
  const json& tok = *in.tokenizer;
  if (!tok.is_object()) fail("{}: expected a JSON object", where);
  auto mit = tok.find("model");
  if (mit == tok.end() || !mit->is_object()) fail("{}: missing or invalid 'model'", where);
  const json& model = *mit;
  const std::string mtype = type_of(model);
  if (mtype != "BPE")
    fail("{}: tokenizer model type '{}' is not supported (only BPE)", where, mtype);
  const bool spm = flag(model, "byte_fallback", false);
  if (!spm && !has_byte_level(tok))
    fail(
        "{}: BPE tokenizer with neither byte_fallback nor a ByteLevel pre-tokenizer is not "
        "supported",
        where);

  // --- tokens by id -----------------------------------------------------
  auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object()) fail("{}: missing or invalid 'model.vocab'", where);
  auto id_of_json = [&](const json& v, const std::string& token) -> int64_t {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kMaxVocab)
      fail("{}: token '{}': invalid id {}", where, token, v.dump());
    return v.get<int64_t>();
  };
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const auto& [text, id] : vit->items()) entries.emplace_back(id_of_json(id, text), text);
  struct Added {
    int64_t id;
    std::string text;
    bool special;
  };
  std::vector<Added> added;
  if (auto ait = tok.find("added_tokens"); ait != tok.end() && !ait->is_null()) {
    if (!ait->is_array()) fail("{}: 'added_tokens' is not a list", where);
    for (const json& a : *ait) {
      auto content = token_content(a);
      if (!content || !a.contains("id"))
        fail("{}: added token without 'id'/'content': {}", where, a.dump());
      added.push_back({id_of_json(a["id"], *content), *content, flag(a, "special", false)});
      entries.emplace_back(added.back().id, *content);
    }
  }
  int64_t n = 0;
  for (const auto& [id, text] : entries) n = std::max(n, id + 1);
  if (in.n_vocab) {
    if (*in.n_vocab <= 0 || *in.n_vocab > kMaxVocab)
      fail("{}: vocab_size {} out of range (1 to {})", where, *in.n_vocab, kMaxVocab);
    if (n > *in.n_vocab)
      fail("{}: token id {} beyond the model's vocab_size {}", where, n - 1, *in.n_vocab);
    n = *in.n_vocab;
  }
  if (n == 0) fail("{}: empty vocabulary", where);

  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<bool> present(static_cast<size_t>(n), false);
  std::unordered_map<std::string, int32_t> id_of;
  for (const auto& [id, text] : entries) {
    if (present[id]) {
      if (tokens[id] != text)
        fail("{}: id {} used by both '{}' and '{}'", where, id, tokens[id], text);
      continue;
    }
    if (auto [it, ok] = id_of.emplace(text, int32_t(id)); !ok)
      fail("{}: token '{}' has two ids, {} and {}", where, text, it->second, id);
    tokens[id] = text;
    present[id] = true;
  }

  // --- types ----------------------------------------------------------
  std::vector<int64_t> types(static_cast<size_t>(n), int64_t(TokenType::NORMAL));
  for (int64_t i = 0; i < n; ++i) {
    if (!present[i]) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = int64_t(TokenType::UNUSED);
    } else if (spm && is_byte_token(tokens[i])) {
      types[i] = int64_t(TokenType::BYTE);
    }
  }
  for (const Added& a : added)
    types[a.id] = int64_t(a.special ? TokenType::CONTROL : TokenType::USER_DEFINED);
  auto lookup = [&](const std::string& text, auto&& what) -> int32_t {
    auto it = id_of.find(text);
    if (it == id_of.end()) fail("{}: {} '{}' is not in the vocabulary", where, what(), text);
    return it->second;
  };
  std::optional<int32_t> unk;
  if (auto u = json_opt_string(model, "unk_token", where)) {
    unk = lookup(*u, [] { return "unk_token"; });
    types[*unk] = int64_t(TokenType::UNKNOWN);
  }

  // --- merges ---------------------------------------------------------
  std::vector<std::string> merges;
  std::vector<int32_t> merged_id;  // token each merge produces
  if (auto mg = model.find("merges"); mg != model.end() && !mg->is_null()) {
    if (!mg->is_array()) fail("{}: 'model.merges' is not a list", where);
    merges.reserve(mg->size());
    for (size_t r = 0; r < mg->size(); ++r) {
      const json& m = (*mg)[r];
      std::string a, b;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 == s.size() ||
            s.find(' ', sp + 1) != std::string::npos)
          fail("{}: merge {} '{}' is not two tokens separated by one space", where, r, s);
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
        if (a.empty() || b.empty() || a.find(' ') != std::string::npos ||
            b.find(' ') != std::string::npos)
          fail("{}: merge {} [\"{}\", \"{}\"] cannot be written as 'a b'", where, r, a, b);
      } else {
        fail("{}: merge {} is neither \"a b\" nor [\"a\", \"b\"]", where, r);
      }
      std::string ab = a + b;
      auto part = [r] { return fmt::format("merge {}: token", r); };
      lookup(a, part);
      lookup(b, part);
      merged_id.push_back(lookup(ab, [r] { return fmt::format("merge {}: merged token", r); }));
      merges.push_back(a + " " + b);
    }
  }

  // --- special ids ----------------------------------------------------
  const json* tcfg =
      in.tokenizer_config && in.tokenizer_config->is_object() ? in.tokenizer_config : nullptr;
  auto special_from_config = [&](const char* key) -> std::optional<int32_t> {
    if (!tcfg) return std::nullopt;
    auto it = tcfg->find(key);
    if (it == tcfg->end() || it->is_null()) return std::nullopt;
    auto content = token_content(*it);
    if (!content) fail("{}: tokenizer_config.json '{}' is not a token", where, key);
    return lookup(*content, [key] { return fmt::format("tokenizer_config.json {}", key); });
  };
  auto checked_id = [&](std::optional<int64_t> id, const char* what) -> std::optional<int32_t> {
    if (!id) return std::nullopt;
    if (*id < 0 || *id >= n) fail("{}: {} {} out of range (vocabulary {})", where, what, *id, n);
    return int32_t(*id);
  };
  std::optional<int32_t> bos = special_from_config("bos_token");
  if (!bos) bos = checked_id(in.bos_token_id, "config.json bos_token_id");
  std::optional<int32_t> eos = special_from_config("eos_token");
  if (!eos) eos = checked_id(in.eos_token_id, "config.json eos_token_id");
  std::optional<int32_t> pad;
  if (tcfg && tcfg->contains("pad_token")) {
    auto content = token_content((*tcfg)["pad_token"]);
    if (content && id_of.count(*content)) pad = id_of[*content];
  }

  // --- write the keys -------------------------------------------------
  md.set("tokenizer.ggml.model", Value::make_string(spm ? "llama" : "gpt2"));
  if (!spm) md.set("tokenizer.ggml.pre", Value::make_string(hf_pre_tokenizer_name(tok, where)));
  md.set("tokenizer.ggml.tokens", Value::make_string_array(tokens));
  if (spm) {
    std::vector<double> scores(static_cast<size_t>(n), 0.0);
    std::vector<bool> scored(static_cast<size_t>(n), false);
    for (size_t r = 0; r < merged_id.size(); ++r) {
      const int32_t id = merged_id[r];
      if (!scored[id] && types[id] == int64_t(TokenType::NORMAL)) {
        scores[id] = -double(r);
        scored[id] = true;
      }
    }
    for (int64_t i = 0; i < n; ++i)
      if (!scored[i] && types[i] == int64_t(TokenType::NORMAL))
        scores[i] = -double(int64_t(merged_id.size()) + i);
    md.set("tokenizer.ggml.scores", Value::make_float_array(ValueType::F32, std::move(scores)));
  }
  md.set("tokenizer.ggml.token_type", Value::make_int_array(ValueType::I32, std::move(types)));
  if (!spm) md.set("tokenizer.ggml.merges", Value::make_string_array(std::move(merges)));
  auto set_id = [&](const char* key, std::optional<int32_t> id) {
    if (id) md.set(key, Value::make_int(ValueType::U32, *id));
  };
  set_id("tokenizer.ggml.bos_token_id", bos);
  set_id("tokenizer.ggml.eos_token_id", eos);
  set_id("tokenizer.ggml.unknown_token_id", unk);
  set_id("tokenizer.ggml.padding_token_id", pad);
  if (tcfg) {
    if (auto b = json_opt_bool(*tcfg, "add_bos_token", where))
      md.set("tokenizer.ggml.add_bos_token", Value::make_bool(*b));
    if (auto e = json_opt_bool(*tcfg, "add_eos_token", where))
      md.set("tokenizer.ggml.add_eos_token", Value::make_bool(*e));
    if (auto ct = tcfg->find("chat_template"); ct != tcfg->end()) {
      if (ct->is_string()) {
        md.set("tokenizer.chat_template", Value::make_string(ct->get<std::string>()));
      } else if (ct->is_array()) {
        for (const json& t : *ct)
          if (t.is_object() && t.value("name", "") == "default" && t.contains("template") &&
              t["template"].is_string())
            md.set("tokenizer.chat_template", Value::make_string(t["template"].get<std::string>()));
      }
    }
  }
  if (spm) {
    // SentencePiece prepends "▁" when the normalizer has a Prepend step or
    // the pre-tokenizer is Metaspace with a prepend scheme other than "never".
    bool prefix = false;
    auto scan = [&](const json& j) {
      const std::string t = type_of(j);
      if (t == "Prepend") prefix = true;
      if (t == "Metaspace" && j.value("prepend_scheme", "always") != "never" &&
          flag(j, "add_prefix_space", true))
        prefix = true;
    };
    for (const char* key : {"normalizer", "pre_tokenizer"}) {
      auto it = tok.find(key);
      if (it == tok.end() || !it->is_object()) continue;
      scan(*it);
      for (const char* list : {"normalizers", "pretokenizers"})
        if (it->contains(list) && (*it)[list].is_array())
          for (const json& s : (*it)[list]) scan(s);
    }
    md.set("tokenizer.ggml.add_space_prefix", Value::make_bool(prefix));
  }
}

}  // namespace

void add_hf_tokenizer_metadata(const HfTokenizerInputs& in, std::string_view where, Metadata& md) {
  try {
    add_metadata(in, where, md);
  } catch (const json::exception& e) {  // a value of an unexpected JSON type
    fail("{}: invalid tokenizer description: {}", where, e.what());
  }
}

}  // namespace fptq::io
