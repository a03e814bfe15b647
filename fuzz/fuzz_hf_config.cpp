// libFuzzer target: config.json -> HfConfig -> llama.* metadata keys. Input
// that is not JSON is skipped (nlohmann's parser is not ours); from a parsed
// document on, only fptq::Error may come out.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fuzz/fuzz_support.h"
#include "io/hf_config.h"
#include "io/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fptq;
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    const io::HfConfig c = io::parse_hf_config(j, "fuzz/config.json");
    fuzz::require(c.n_layer > 0 && c.n_embd > 0 && c.n_head > 0 && c.n_head_kv > 0,
                  "positive geometry");
    fuzz::require(c.head_dim > 0 && c.head_dim % 2 == 0, "even positive head_dim");
    io::Metadata md;
    io::add_hf_config_metadata(c, md);
  } catch (const Error&) {
  }
  return 0;
}
