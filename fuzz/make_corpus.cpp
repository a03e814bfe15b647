// Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): small
// files built here with fptq's own GGUF writer and JSON, a few KB each. The
// GGUF seeds carry a cut of the real vocabularies (the first tokens and the
// merges among them, read from the GGUFs given on the command line).
//   fuzz_make_corpus OUT_DIR STORIES260K.gguf SMOLLM2.gguf
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/half.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace fptq;
using io::Value;
using io::ValueType;

namespace {

void write_bytes(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Deterministic pseudo-random bytes (xorshift).
std::vector<uint8_t> noise(size_t n, uint32_t seed) {
  std::vector<uint8_t> b(n);
  uint32_t x = seed | 1;
  for (auto& v : b) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    v = uint8_t(x);
  }
  return b;
}

// Block bytes with every fp16 scale field (`scale_at` offsets within a block
// of `block` bytes) set to a small sane value.
std::vector<uint8_t> blocks(size_t n_blocks, size_t block, std::vector<size_t> scale_at,
                            uint32_t seed) {
  std::vector<uint8_t> b = noise(n_blocks * block, seed);
  const uint16_t h = f32_to_fp16(0.01f);
  for (size_t i = 0; i < n_blocks; ++i)
    for (size_t off : scale_at) std::memcpy(&b[i * block + off], &h, 2);
  return b;
}

std::vector<uint8_t> f32s(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Copies the tokenizer keys of `src`, keeping the first `keep` tokens and the
// merges whose parts and result are among them.
void add_tokenizer_cut(io::GgufWriter& w, const io::Metadata& src, size_t keep) {
  std::vector<std::string> tokens;
  std::unordered_set<std::string> kept;
  for (const auto& [key, v] : src.items()) {
    if (key.rfind("tokenizer.ggml.", 0) != 0) continue;
    if (key == "tokenizer.ggml.tokens") {
      tokens.assign(v.strings.begin(), v.strings.begin() + std::min(keep, v.strings.size()));
      kept.insert(tokens.begin(), tokens.end());
      w.add(key, Value::make_string_array(tokens));
    } else if (key == "tokenizer.ggml.scores") {
      w.add(key, Value::make_float_array(ValueType::F32, {v.floats.begin(),
                                                          v.floats.begin() + tokens.size()}));
    } else if (key == "tokenizer.ggml.token_type") {
      w.add(key, Value::make_int_array(v.elem_type, {v.ints.begin(), v.ints.begin() + tokens.size()}));
    } else if (key == "tokenizer.ggml.merges") {
      std::vector<std::string> m;
      for (const std::string& s : v.strings) {
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) continue;
        const std::string a = s.substr(0, sp), b = s.substr(sp + 1);
        if (kept.count(a) && kept.count(b) && kept.count(a + b)) m.push_back(s);
      }
      w.add(key, Value::make_string_array(m));
    } else if (v.is_array()) {
      continue;
    } else {
      const bool id_key = key.size() > 9 && key.compare(key.size() - 9, 9, "_token_id") == 0;
      if (id_key && v.ints[0] >= int64_t(tokens.size())) continue;
      w.add(key, v);
    }
  }
}

void add_llama_keys(io::GgufWriter& w) {
  w.add("general.architecture", Value::make_string("llama"));
  w.add("general.name", Value::make_string("fuzz seed"));
  w.add("llama.block_count", Value::make_int(ValueType::U32, 1));
  w.add("llama.embedding_length", Value::make_int(ValueType::U32, 8));
  w.add("llama.feed_forward_length", Value::make_int(ValueType::U32, 16));
  w.add("llama.attention.head_count", Value::make_int(ValueType::U32, 2));
  w.add("llama.attention.head_count_kv", Value::make_int(ValueType::U32, 1));
  w.add("llama.context_length", Value::make_int(ValueType::U32, 64));
  w.add("llama.attention.layer_norm_rms_epsilon", Value::make_float(ValueType::F32, 1e-5));
  w.add("llama.rope.freq_base", Value::make_float(ValueType::F32, 10000.0));
}

void gguf_corpus(const fs::path& dir, const io::ModelFile& stories, const io::ModelFile& smol) {
  {  // a cut of stories260K's tokenizer + one tiny tensor of every type fptq reads
    io::GgufWriter w;
    add_llama_keys(w);
    add_tokenizer_cut(w, stories.metadata, 280);
    w.add_tensor("f32", io::GgmlType::F32, {4, 2}, f32s({1, -2, 0.5f, 0, 3, -1, 2, 0.25f}));
    w.add_tensor("f16", io::GgmlType::F16, {4}, blocks(4, 2, {0}, 1));
    w.add_tensor("bf16", io::GgmlType::BF16, {4}, {0x80, 0x3f, 0x00, 0xc0, 0x00, 0x00, 0x80, 0x3e});
    w.add_tensor("q4_0", io::GgmlType::Q4_0, {32}, blocks(1, 18, {0}, 2));
    w.add_tensor("q4_1", io::GgmlType::Q4_1, {32}, blocks(1, 20, {0, 2}, 3));
    w.add_tensor("q5_0", io::GgmlType::Q5_0, {32}, blocks(1, 22, {0}, 4));
    w.add_tensor("q5_1", io::GgmlType::Q5_1, {32}, blocks(1, 24, {0, 2}, 5));
    w.add_tensor("q8_0", io::GgmlType::Q8_0, {32}, blocks(1, 34, {0}, 6));
    w.add_tensor("q4_k", io::GgmlType::Q4_K, {256}, blocks(1, 144, {0, 2}, 7));
    w.add_tensor("q5_k", io::GgmlType::Q5_K, {256}, blocks(1, 176, {0, 2}, 8));
    w.add_tensor("q6_k", io::GgmlType::Q6_K, {256}, blocks(1, 210, {208}, 9));
    w.write((dir / "stories_cut_all_types.gguf").string());
  }
  {  // a cut of SmolLM2's byte-level tokenizer, alignment 64, two tensors
    io::GgufWriter w(64);
    add_llama_keys(w);
    add_tokenizer_cut(w, smol.metadata, 420);
    w.add_tensor("token_embd.weight", io::GgmlType::Q4_1, {32, 2}, blocks(2, 20, {0, 2}, 10));
    w.add_tensor("output_norm.weight", io::GgmlType::F32, {8}, f32s({1, 1, 1, 1, 1, 1, 1, 1}));
    w.write((dir / "smollm2_cut_align64.gguf").string());
  }
  {  // every KV value type, scalar and array, no tensors
    io::GgufWriter w;
    const ValueType ints[] = {ValueType::U8,  ValueType::I8,  ValueType::U16, ValueType::I16,
                              ValueType::U32, ValueType::I32, ValueType::U64, ValueType::I64};
    int k = 0;
    for (ValueType t : ints) {
      w.add("int." + std::to_string(k), Value::make_int(t, 7));
      w.add("ints." + std::to_string(k++), Value::make_int_array(t, {1, 2, 3}));
    }
    w.add("f32", Value::make_float(ValueType::F32, 1.5));
    w.add("f64", Value::make_float(ValueType::F64, -2.25));
    w.add("f32s", Value::make_float_array(ValueType::F32, {0.5, 1e30}));
    w.add("f64s", Value::make_float_array(ValueType::F64, {0.5, -1e300}));
    w.add("bool", Value::make_bool(true));
    w.add("str", Value::make_string("héllo"));
    w.add("strs", Value::make_string_array({"a", "", "ccc"}));
    w.write((dir / "kv_types.gguf").string());
  }
}

std::string safetensors(const json& header, const std::vector<uint8_t>& data) {
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h + std::string(data.begin(), data.end());
}

void safetensors_corpus(const fs::path& dir) {
  json h;
  h["__metadata__"] = {{"format", "pt"}};
  h["model.embed_tokens.weight"] = {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}};
  h["model.norm.weight"] = {{"dtype", "BF16"}, {"shape", {3}}, {"data_offsets", {24, 30}}};
  h["model.layers.0.self_attn.q_proj.weight"] = {
      {"dtype", "F16"}, {"shape", {2, 2}}, {"data_offsets", {30, 38}}};
  h["position_ids"] = {{"dtype", "I64"}, {"shape", {1}}, {"data_offsets", {38, 46}}};
  write_bytes(dir / "llama_like.safetensors", safetensors(h, noise(46, 11)));
  json s;
  s["scalar"] = {{"dtype", "F32"}, {"shape", json::array()}, {"data_offsets", {0, 4}}};
  s["empty"] = {{"dtype", "U8"}, {"shape", {0}}, {"data_offsets", {4, 4}}};
  s["bools"] = {{"dtype", "BOOL"}, {"shape", {2, 1}}, {"data_offsets", {4, 6}}};
  write_bytes(dir / "scalar_empty.safetensors", safetensors(s, noise(6, 12)));
}

void hf_config_corpus(const fs::path& dir) {
  json llama = {{"architectures", {"LlamaForCausalLM"}},
                {"model_type", "llama"},
                {"hidden_size", 576},
                {"intermediate_size", 1536},
                {"num_hidden_layers", 30},
                {"num_attention_heads", 9},
                {"num_key_value_heads", 3},
                {"max_position_embeddings", 8192},
                {"vocab_size", 49152},
                {"rms_norm_eps", 1e-5},
                {"rope_theta", 100000.0},
                {"rope_scaling", nullptr},
                {"tie_word_embeddings", true},
                {"bos_token_id", 1},
                {"eos_token_id", 2},
                {"torch_dtype", "bfloat16"}};
  write_bytes(dir / "llama.json", llama.dump(1));
  json mistral = llama;
  mistral["architectures"] = {"MistralForCausalLM"};
  mistral["model_type"] = "mistral";
  mistral["sliding_window"] = 4096;
  mistral["head_dim"] = 128;
  mistral["eos_token_id"] = {2, 3};
  mistral.erase("num_key_value_heads");
  write_bytes(dir / "mistral.json", mistral.dump(1));
  json qwen = llama;
  qwen["architectures"] = {"Qwen2ForCausalLM"};
  qwen["model_type"] = "qwen2";
  qwen["tie_word_embeddings"] = false;
  qwen["use_sliding_window"] = false;
  write_bytes(dir / "qwen2.json", qwen.dump());
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
          {"use_regex", use_regex}};
}

void hf_tokenizer_corpus(const fs::path& dir, const io::ModelFile& smol) {
  // Byte-level BPE from the first SmolLM2 tokens and the merges among them.
  const auto& toks = smol.metadata.find("tokenizer.ggml.tokens")->strings;
  const auto& merges = smol.metadata.find("tokenizer.ggml.merges")->strings;
  const size_t keep = 360;
  json vocab = json::object();
  std::unordered_set<std::string> kept;
  for (size_t i = 0; i < keep; ++i) vocab[toks[i]] = i, kept.insert(toks[i]);
  json m = json::array();
  for (const std::string& s : merges) {
    const size_t sp = s.find(' ', 1);
    if (sp == std::string::npos) continue;
    const std::string a = s.substr(0, sp), b = s.substr(sp + 1);
    if (kept.count(a) && kept.count(b) && kept.count(a + b)) m.push_back(s);
  }
  json t;
  t["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}, {"byte_fallback", false}};
  t["added_tokens"] = {{{"id", 0}, {"content", toks[0]}, {"special", true}},
                       {{"id", 1}, {"content", toks[1]}, {"special", true}},
                       {{"id", 2}, {"content", toks[2]}, {"special", true}}};
  t["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}};
  t["decoder"] = {{"type", "ByteLevel"}};
  t["fuzz_tokenizer_config"] = {{"bos_token", toks[1]}, {"eos_token", toks[2]},
                                {"add_bos_token", false}};
  write_bytes(dir / "smollm2_cut.json", t.dump());

  json g;  // plain gpt2 pre-tokenizer, tiny vocabulary
  g["model"] = {{"type", "BPE"},
                {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"Ġ", 3}, {"ab", 4}, {"abc", 5}, {"Ġa", 6}}},
                {"merges", {"a b", "ab c", "Ġ a"}}};
  g["added_tokens"] = {{{"id", 7}, {"content", "<|endoftext|>"}, {"special", true}},
                       {{"id", 8}, {"content", "<think>"}, {"special", false}}};
  g["pre_tokenizer"] = byte_level(true);
  g["fuzz_n_vocab"] = 12;
  write_bytes(dir / "gpt2_tiny.json", g.dump());

  // SentencePiece-style BPE with byte fallback: a few <0xXX> tokens.
  json sv = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  int id = 3;
  for (int b : {0x0A, 0x20, 0x41, 0xC3, 0xA9, 0xE2, 0x96, 0x81}) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    sv[name] = id++;
  }
  for (const char* s : {"\xe2\x96\x81", "h", "e", "l", "o", "he", "ll", "\xe2\x96\x81he", "llo"})
    sv[s] = id++;
  json spm;
  spm["model"] = {{"type", "BPE"},  {"vocab", sv},
                  {"merges", {"h e", "l l", "\xe2\x96\x81 he", "ll o"}},
                  {"byte_fallback", true}, {"unk_token", "<unk>"}, {"fuse_unk", true}};
  spm["normalizer"] = {{"type", "Sequence"},
                       {"normalizers",
                        {{{"type", "Prepend"}, {"prepend", "\xe2\x96\x81"}},
                         {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}}}}};
  spm["added_tokens"] = {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                         {{"id", 1}, {"content", "<s>"}, {"special", true}},
                         {{"id", 2}, {"content", "</s>"}, {"special", true}}};
  spm["fuzz_tokenizer_config"] = {{"bos_token", "<s>"}, {"eos_token", "</s>"},
                                  {"add_bos_token", true}};
  write_bytes(dir / "spm_byte_fallback.json", spm.dump());
}

void text_corpus(const fs::path& dir) {
  const std::pair<const char*, std::string> texts[] = {
      {"story", "Once upon a time, there was a little girl named Lily. She loved to play outside."},
      {"wiki", " = Valkyria Chronicles III = \n\n Senjō no Valkyria 3 : Unrecorded Chronicles @-@ "
               "1 ( Japanese : 戦場のヴァルキュリア3 ) is a 2011 game .\n"},
      {"chat", "<|im_start|>user\nWhat is 12345 + 6.78?<|im_end|>\n<|im_start|>assistant\n"},
      {"specials", "<s>hello</s> <unk>  <|endoftext|>\t\t\r\n"},
      {"unicode", "naïve café — 你好，世界 🙂👍🏽 ñ\u00a0\u2581x ∑∫ «quotes»"},
      {"invalid_utf8", std::string("ok \xff\xfe \xc3 \xe2\x96 \xf0\x9f\x99 \xc0\xaf \xed\xa0\x80 end")},
      {"spaces", "   leading, trailing   \n\n\n   and    runs   "},
      {"digits", "3.14159 2,718 1e-10 0x1F 00000000001 ١٢٣"},
  };
  for (const auto& [name, s] : texts) {
    for (uint8_t flags : {0, 1, 2}) {
      write_bytes(dir / (std::string(name) + "_" + std::to_string(flags)),
                  std::string(1, char(flags)) + s);
    }
  }
  std::string ids(1, char(4));  // decode mode: ids 0..40 and two bad ones
  for (int32_t i : {0, 1, 2, 3, 10, 40, 300, -1, 1 << 30}) ids.append(reinterpret_cast<char*>(&i), 4);
  write_bytes(dir / "decode_ids", ids);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s OUT_DIR STORIES260K.gguf SMOLLM2.gguf\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out = argv[1];
    const auto stories = io::read_gguf(argv[2]);
    const auto smol = io::read_gguf(argv[3]);
    fs::create_directories(out / "fuzz_gguf_reader");
    gguf_corpus(out / "fuzz_gguf_reader", *stories, *smol);
    safetensors_corpus(out / "fuzz_safetensors");
    hf_config_corpus(out / "fuzz_hf_config");
    hf_tokenizer_corpus(out / "fuzz_hf_tokenizer", *smol);
    text_corpus(out / "fuzz_tokenizer_spm");
    text_corpus(out / "fuzz_tokenizer_bpe");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
