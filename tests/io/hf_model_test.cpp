// Hugging Face directory -> ModelFile, checked against the GGUF it was made
// from. The directories are written by an independent Python writer
// (tests/io/make_hf_model.py: numpy + safetensors + gguf packages) from
// stories260K.gguf, with q/k rows in HF's rotate-half layout; the loader
// must give back every GGUF tensor bit for bit (F32) or after the dtype's
// rounding (F16/BF16), and the same metadata.
#include "io/hf_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "core/half.h"
#include "io/gguf_reader.h"
#include "io/json_file.h"
#include "testing/testing.h"

namespace fptq::io {
namespace {
namespace fs = std::filesystem;

fs::path stories() { return testing::shared_data("models/stories260K.gguf"); }

// Runs make_hf_model.py into `out`; false (with a reason) when python3 or its
// packages are missing.
bool make_hf(const fs::path& out, const std::string& args, std::string* why) {
  const fs::path log = out.parent_path() / (out.filename().string() + ".log");
  const int status = testing::run_python_tool(
      "tests/io/make_hf_model.py",
      "--gguf '" + stories().string() + "' --out '" + out.string() + "' " + args, log, why);
  if (status == 0) return true;
  if (status != 77 && status != 127) ADD_FAILURE() << *why;
  return false;
}

#define MAKE_HF_OR_SKIP(out, args)                        \
  do {                                                    \
    FPTQ_REQUIRE_FILE(stories());                         \
    std::string why_;                                     \
    if (!make_hf(out, args, &why_)) GTEST_SKIP() << why_; \
  } while (0)

float f32_at(const TensorInfo& t, int64_t i) {
  float v;
  std::memcpy(&v, t.data + 4 * i, 4);
  return v;
}
uint16_t u16_at(const TensorInfo& t, int64_t i) {
  uint16_t v;
  std::memcpy(&v, t.data + 2 * i, 2);
  return v;
}

// Every tensor of `ref` (F32 GGUF) is in `hf` with the same ne and, stored as
// `type`, the same values (rounded to F16/BF16 when type says so).
void expect_tensors_match(const ModelFile& ref, const ModelFile& hf, GgmlType type, bool tied) {
  EXPECT_EQ(hf.tensors.size(), ref.tensors.size() - (tied ? 1 : 0));
  for (const TensorInfo& r : ref.tensors) {
    const TensorInfo* h = hf.find_tensor(r.name);
    if (tied && r.name == "output.weight") {
      EXPECT_EQ(h, nullptr) << "tied: no output.weight";
      continue;
    }
    ASSERT_NE(h, nullptr) << r.name;
    ASSERT_EQ(r.type, GgmlType::F32);
    EXPECT_EQ(h->ne, r.ne) << r.name;
    ASSERT_EQ(h->type, type) << r.name;
    const int64_t n = r.n_elements();
    for (int64_t i = 0; i < n; ++i) {
      const float x = f32_at(r, i);
      if (type == GgmlType::F32) {
        ASSERT_EQ(f32_to_bits(f32_at(*h, i)), f32_to_bits(x)) << r.name << " at " << i;
      } else if (type == GgmlType::F16) {
        ASSERT_EQ(u16_at(*h, i), f32_to_fp16(x)) << r.name << " at " << i << " value " << x;
      } else {
        ASSERT_EQ(u16_at(*h, i), f32_to_bf16(x)) << r.name << " at " << i << " value " << x;
      }
    }
  }
}

void expect_same_value(const Metadata& ref, const Metadata& hf, const std::string& key) {
  const Value* r = ref.find(key);
  const Value* h = hf.find(key);
  ASSERT_NE(r, nullptr) << key;
  ASSERT_NE(h, nullptr) << key;
  EXPECT_EQ(h->ints, r->ints) << key;
  EXPECT_EQ(h->strings, r->strings) << key;
  ASSERT_EQ(h->floats.size(), r->floats.size()) << key;
  for (size_t i = 0; i < r->floats.size(); ++i)
    EXPECT_EQ(float(h->floats[i]), float(r->floats[i])) << key << "[" << i << "]";
}

// The metadata a GGUF conversion of the same model carries.
void expect_metadata_match(const ModelFile& ref, const ModelFile& hf) {
  for (const char* key :
       {"general.architecture", "llama.block_count", "llama.context_length",
        "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
        "llama.attention.head_count_kv", "llama.attention.layer_norm_rms_epsilon",
        "llama.rope.dimension_count", "tokenizer.ggml.model", "tokenizer.ggml.tokens",
        "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id"})
    expect_same_value(ref.metadata, hf.metadata, key);
  const std::string where = hf.path;
  EXPECT_EQ(hf.metadata.get_float("llama.rope.freq_base", where), 10000.0);  // the default
  EXPECT_EQ(hf.metadata.get_int("llama.vocab_size", where), 512);
  EXPECT_EQ(hf.metadata.get_string("fptq.hf.architecture", where), "LlamaForCausalLM");
  EXPECT_EQ(hf.metadata.get_string("fptq.arch_family", where), "llama");
  EXPECT_TRUE(hf.metadata.get_bool("tokenizer.ggml.add_bos_token", false, where));
  EXPECT_TRUE(hf.metadata.get_bool("tokenizer.ggml.add_space_prefix", false, where));

  // Scores: same order as SentencePiece's among normal tokens (that is what
  // the merge priority depends on), 0 elsewhere as in the GGUF.
  const Value* rs = ref.metadata.find("tokenizer.ggml.scores");
  const Value* hs = hf.metadata.find("tokenizer.ggml.scores");
  const Value* types = ref.metadata.find("tokenizer.ggml.token_type");
  ASSERT_TRUE(rs && hs && types);
  ASSERT_EQ(hs->floats.size(), rs->floats.size());
  std::vector<size_t> normal;
  for (size_t i = 0; i < rs->floats.size(); ++i) {
    if (types->ints[i] == 1)
      normal.push_back(i);
    else
      EXPECT_EQ(hs->floats[i], rs->floats[i]) << "score of token " << i;
  }
  ASSERT_GT(normal.size(), 200u);
  for (size_t a = 0; a + 1 < normal.size(); ++a) {
    const size_t i = normal[a], j = normal[a + 1];
    EXPECT_EQ(hs->floats[i] > hs->floats[j], rs->floats[i] > rs->floats[j]) << i << " vs " << j;
    EXPECT_EQ(hs->floats[i] == hs->floats[j], rs->floats[i] == rs->floats[j]) << i << " vs " << j;
  }
}

TEST(HfModel, F32UntiedMatchesGgufBitForBit) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--dtype F32");
  const auto ref = read_gguf(stories().string());
  const auto hf = open_model((tmp / "hf").string());
  EXPECT_EQ(hf->format, "safetensors");
  expect_tensors_match(*ref, *hf, GgmlType::F32, /*tied=*/false);
  expect_metadata_match(*ref, *hf);
}

TEST(HfModel, F16TiedMatchesAfterRounding) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--dtype F16 --tie");
  const auto ref = read_gguf(stories().string());
  const auto hf = open_model((tmp / "hf").string());
  expect_tensors_match(*ref, *hf, GgmlType::F16, /*tied=*/true);
  expect_metadata_match(*ref, *hf);
}

TEST(HfModel, Bf16ShardedWithListMergesMatchesAfterRounding) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--dtype BF16 --shards 3 --merges list");
  ASSERT_TRUE(fs::exists(tmp / "hf" / "model.safetensors.index.json"));
  const auto ref = read_gguf(stories().string());
  const auto hf = open_model((tmp / "hf").string());
  expect_tensors_match(*ref, *hf, GgmlType::BF16, /*tied=*/false);
  expect_metadata_match(*ref, *hf);
}

TEST(HfModel, Qwen2BiasesArePermutedLikeTheirWeights) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--dtype F32 --arch qwen2");
  const auto ref = read_gguf(stories().string());
  const auto hf = open_model((tmp / "hf").string());
  EXPECT_EQ(hf->metadata.get_string("fptq.arch_family", hf->path), "qwen2");
  EXPECT_EQ(hf->metadata.get_string("general.architecture", hf->path), "llama");
  const int64_t n_layer = 5;
  EXPECT_EQ(hf->tensors.size(), ref->tensors.size() + 3 * n_layer);
  for (const TensorInfo& r : ref->tensors) {
    const TensorInfo& h = hf->tensor(r.name);
    ASSERT_EQ(h.nbytes, r.nbytes);
    EXPECT_EQ(std::memcmp(h.data, r.data, r.nbytes), 0) << r.name;
  }
  for (int64_t l = 0; l < n_layer; ++l) {
    for (const char* p : {"q", "k", "v"}) {
      const TensorInfo& b = hf->tensor("blk." + std::to_string(l) + ".attn_" + p + ".bias");
      const TensorInfo& w = hf->tensor("blk." + std::to_string(l) + ".attn_" + p + ".weight");
      ASSERT_EQ(b.ne, std::vector<int64_t>{w.ne[1]}) << b.name;
      ASSERT_EQ(b.type, GgmlType::F32);
      for (int64_t j = 0; j < b.ne[0]; ++j)
        ASSERT_EQ(f32_at(b, j), float(1000 * l + j)) << b.name << " row " << j;
    }
  }
}

// --- malformed directories ---------------------------------------------------

// Expects open_model(dir) to throw an fptq::Error containing every part.
void expect_error(const fs::path& dir, std::initializer_list<std::string> parts) {
  try {
    open_model(dir.string());
    FAIL() << "no error for " << dir;
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json cfg = read_json_file(dir / "config.json");
  edit(cfg);
  std::ofstream(dir / "config.json") << cfg.dump(2);
}

TEST(HfModelErrors, MissingConfigKey) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "");
  edit_config(tmp / "hf", [](nlohmann::json& c) { c.erase("hidden_size"); });
  expect_error(tmp / "hf", {"config.json", "missing key 'hidden_size'"});
}

TEST(HfModelErrors, UnsupportedArchitecture) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "");
  edit_config(tmp / "hf", [](nlohmann::json& c) { c["architectures"] = {"GPT2LMHeadModel"}; });
  expect_error(tmp / "hf", {"config.json", "unsupported architecture 'GPT2LMHeadModel'"});
}

TEST(HfModelErrors, RopeScalingUnsupported) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "");
  edit_config(tmp / "hf", [](nlohmann::json& c) {
    c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  });
  expect_error(tmp / "hf", {"config.json", "rope_scaling 'llama3'", "not supported"});
}

TEST(HfModelErrors, MissingShardFile) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--shards 2");
  fs::remove(tmp / "hf" / "model-00002-of-00002.safetensors");
  expect_error(tmp / "hf", {"model.safetensors.index.json", "model-00002-of-00002.safetensors",
                            "does not exist"});
}

TEST(HfModelErrors, TensorShapeDisagreesWithConfig) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "");
  edit_config(tmp / "hf", [](nlohmann::json& c) { c["intermediate_size"] = 128; });
  expect_error(tmp / "hf", {"model.safetensors", "model.layers.0.mlp.", "[172, 64]", "[128, 64]"});
}

TEST(HfModelErrors, MissingTensor) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--tie");
  edit_config(tmp / "hf", [](nlohmann::json& c) { c["tie_word_embeddings"] = false; });
  expect_error(tmp / "hf", {"output.weight", "missing"});
}

TEST(HfModelErrors, UnknownTensorName) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--extra-tensor model.layers.0.self_attn.q_norm.weight");
  expect_error(tmp / "hf", {"model.safetensors", "model.layers.0.self_attn.q_norm.weight"});
}

TEST(HfModelErrors, TensorOfLayerBeyondConfig) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "");
  edit_config(tmp / "hf", [](nlohmann::json& c) { c["num_hidden_layers"] = 4; });
  expect_error(tmp / "hf", {"model.safetensors", "model.layers.4.", "unexpected", "4 layers"});
}

TEST(HfModelErrors, UnsupportedDtype) {
  testing::TempDir tmp;
  MAKE_HF_OR_SKIP(tmp / "hf", "--int-tensor model.norm.weight");
  expect_error(tmp / "hf",
               {"model.safetensors", "model.norm.weight", "dtype I32 is not supported"});
}

TEST(HfModelErrors, NoConfig) {
  testing::TempDir tmp;
  fs::create_directory(tmp / "empty");
  expect_error(tmp / "empty", {(tmp / "empty").string(), "no config.json"});
}

// --- pieces ----------------------------------------------------------------

TEST(HfModelNames, MapsEveryHfNameToGguf) {
  EXPECT_EQ(hf_to_gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.norm.weight"), "output_norm.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.0.input_layernorm.weight"),
            "blk.0.attn_norm.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.12.self_attn.q_proj.weight"),
            "blk.12.attn_q.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.self_attn.k_proj.bias"), "blk.3.attn_k.bias");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.self_attn.o_proj.weight"),
            "blk.3.attn_output.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.post_attention_layernorm.weight"),
            "blk.3.ffn_norm.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.mlp.gate_proj.weight"), "blk.3.ffn_gate.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.mlp.up_proj.weight"), "blk.3.ffn_up.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.mlp.down_proj.weight"), "blk.3.ffn_down.weight");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.self_attn.rotary_emb.inv_freq"), "");
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.x.mlp.up_proj.weight"), std::nullopt);
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.01.mlp.up_proj.weight"), std::nullopt);
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.1.mlp.up_proj"), std::nullopt);
  EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.99999999999999999999.mlp.up_proj.weight"),
            std::nullopt);
}

TEST(HfModelRope, PermutesRotateHalfPairsToAdjacentPairsPerHead) {
  // 2 heads of dim 4, rows of 1 byte: HF rows (h, s, i) -> GGUF rows (h, i, s).
  const uint8_t src[8] = {0, 1, 2, 3, 10, 11, 12, 13};
  uint8_t dst[8];
  permute_rope_rows(src, dst, 8, 1, 2);
  const uint8_t want[8] = {0, 2, 1, 3, 10, 12, 11, 13};
  EXPECT_EQ(std::memcmp(dst, want, 8), 0);
  // Multi-byte rows move whole.
  const uint16_t s2[4] = {0x0100, 0x0302, 0x0504, 0x0706};  // 1 head of dim 4, 2-byte rows
  uint16_t d2[4];
  permute_rope_rows(reinterpret_cast<const uint8_t*>(s2), reinterpret_cast<uint8_t*>(d2), 4, 2, 1);
  EXPECT_EQ(d2[0], 0x0100);
  EXPECT_EQ(d2[1], 0x0504);
  EXPECT_EQ(d2[2], 0x0302);
  EXPECT_EQ(d2[3], 0x0706);
}

}  // namespace
}  // namespace fptq::io
