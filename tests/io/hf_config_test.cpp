// config.json -> GGUF llama.* keys, and rejection of unsupported configs.
#include "io/hf_config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace fptq::io {
namespace {
using nlohmann::json;

json smollm2_like() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536,
    "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
    "rms_norm_eps": 1e-05, "rope_theta": 100000, "rope_scaling": null,
    "max_position_embeddings": 8192, "vocab_size": 49152, "tie_word_embeddings": true,
    "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"})");
}

void expect_error(const json& cfg, std::initializer_list<std::string> parts) {
  try {
    parse_hf_config(cfg, "dir/config.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("dir/config.json"), std::string::npos) << msg;
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
  }
}

TEST(HfConfig, LlamaKeys) {
  const HfConfig c = parse_hf_config(smollm2_like(), "config.json");
  EXPECT_EQ(c.family, "llama");
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attn_qkv_bias);
  Metadata md;
  add_hf_config_metadata(c, md);
  EXPECT_EQ(md.get_string("general.architecture", "t"), "llama");
  EXPECT_EQ(md.get_int("llama.block_count", "t"), 30);
  EXPECT_EQ(md.get_int("llama.embedding_length", "t"), 576);
  EXPECT_EQ(md.get_int("llama.feed_forward_length", "t"), 1536);
  EXPECT_EQ(md.get_int("llama.attention.head_count", "t"), 9);
  EXPECT_EQ(md.get_int("llama.attention.head_count_kv", "t"), 3);
  EXPECT_FLOAT_EQ(float(md.get_float("llama.attention.layer_norm_rms_epsilon", "t")), 1e-5f);
  EXPECT_EQ(md.get_float("llama.rope.freq_base", "t"), 100000.0);
  EXPECT_EQ(md.get_int("llama.rope.dimension_count", "t"), 64);
  EXPECT_EQ(md.get_int("llama.context_length", "t"), 8192);
  EXPECT_EQ(md.get_int("llama.vocab_size", "t"), 49152);
  EXPECT_EQ(md.get_string("fptq.arch_family", "t"), "llama");
  EXPECT_EQ(md.get_string("fptq.hf.architecture", "t"), "LlamaForCausalLM");
  EXPECT_FALSE(md.contains("llama.attention.key_length"));
  EXPECT_EQ(md.find("llama.block_count")->type, ValueType::U32);
  EXPECT_EQ(md.find("llama.rope.freq_base")->type, ValueType::F32);
}

TEST(HfConfig, Defaults) {
  json cfg = smollm2_like();
  cfg.erase("rope_theta");
  cfg.erase("num_key_value_heads");
  cfg.erase("tie_word_embeddings");
  cfg.erase("rope_scaling");
  const HfConfig c = parse_hf_config(cfg, "config.json");
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.n_head_kv, 9);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(HfConfig, Qwen2HasQkvBiasesAndFamily) {
  json cfg = smollm2_like();
  cfg["architectures"] = {"Qwen2ForCausalLM"};
  cfg["use_sliding_window"] = false;
  cfg["sliding_window"] = 4096;
  const HfConfig c = parse_hf_config(cfg, "config.json");
  EXPECT_EQ(c.family, "qwen2");
  EXPECT_TRUE(c.attn_qkv_bias);
  EXPECT_FALSE(c.sliding_window);
  cfg["use_sliding_window"] = true;
  expect_error(cfg, {"use_sliding_window"});
}

TEST(HfConfig, MistralSlidingWindowRecorded) {
  json cfg = smollm2_like();
  cfg["architectures"] = {"MistralForCausalLM"};
  cfg["sliding_window"] = 4096;
  const HfConfig c = parse_hf_config(cfg, "config.json");
  EXPECT_EQ(c.family, "mistral");
  EXPECT_EQ(c.sliding_window, 4096);
  Metadata md;
  add_hf_config_metadata(c, md);
  EXPECT_EQ(md.get_int("fptq.attention.sliding_window", "t"), 4096);
  cfg["sliding_window"] = nullptr;
  EXPECT_FALSE(parse_hf_config(cfg, "config.json").sliding_window);
}

TEST(HfConfig, ExplicitHeadDimWritesKeyLength) {
  json cfg = smollm2_like();
  cfg["head_dim"] = 128;
  Metadata md;
  add_hf_config_metadata(parse_hf_config(cfg, "config.json"), md);
  EXPECT_EQ(md.get_int("llama.rope.dimension_count", "t"), 128);
  EXPECT_EQ(md.get_int("llama.attention.key_length", "t"), 128);
  EXPECT_EQ(md.get_int("llama.attention.value_length", "t"), 128);
}

TEST(HfConfig, EosListTakesFirst) {
  json cfg = smollm2_like();
  cfg["eos_token_id"] = {128001, 128009};
  EXPECT_EQ(parse_hf_config(cfg, "config.json").eos_token_id, 128001);
}

TEST(HfConfig, RejectsUnsupportedArchitecture) {
  json cfg = smollm2_like();
  cfg["architectures"] = {"GemmaForCausalLM"};
  expect_error(cfg, {"unsupported architecture 'GemmaForCausalLM'"});
  cfg["architectures"] = json::array();
  expect_error(cfg, {"architectures"});
  cfg.erase("architectures");
  expect_error(cfg, {"architectures"});
}

TEST(HfConfig, RejectsMissingKeys) {
  for (const char* key :
       {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "max_position_embeddings", "vocab_size", "rms_norm_eps"}) {
    json cfg = smollm2_like();
    cfg.erase(key);
    expect_error(cfg, {std::string("missing key '") + key + "'"});
  }
}

TEST(HfConfig, RejectsInvalidValues) {
  json cfg = smollm2_like();
  cfg["hidden_size"] = "576";
  expect_error(cfg, {"'hidden_size'", "expected an integer"});
  cfg = smollm2_like();
  cfg["num_hidden_layers"] = -3;
  expect_error(cfg, {"'num_hidden_layers'", "out of range"});
  cfg = smollm2_like();
  cfg["num_key_value_heads"] = 4;
  expect_error(cfg, {"not a multiple of num_key_value_heads 4"});
  cfg = smollm2_like();
  cfg["hidden_size"] = 577;
  expect_error(cfg, {"hidden_size 577 is not a multiple of num_attention_heads 9"});
  cfg = smollm2_like();
  cfg["rms_norm_eps"] = 0;
  expect_error(cfg, {"'rms_norm_eps'"});
  cfg = smollm2_like();
  cfg["hidden_act"] = "gelu";
  expect_error(cfg, {"hidden_act 'gelu'"});
  cfg = smollm2_like();
  cfg["attention_bias"] = true;
  expect_error(cfg, {"attention_bias"});
  expect_error(json::array(), {"JSON object"});
}

TEST(HfConfig, RejectsRopeScaling) {
  json cfg = smollm2_like();
  cfg["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  expect_error(cfg, {"rope_scaling 'linear'", "not supported"});
  cfg["rope_scaling"] = {{"rope_type", "yarn"}};
  expect_error(cfg, {"rope_scaling 'yarn'"});
}

}  // namespace
}  // namespace fptq::io
