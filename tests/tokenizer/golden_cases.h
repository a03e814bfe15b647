// Loading the tokenizer goldens of tests/tokenizer/golden/ (see README there).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::tok::testing {

struct GoldenCase {
  std::string name;
  std::string bytes;
  bool valid_utf8 = true;
  std::vector<int32_t> ids, ids_parse_special;
};

struct GoldenFile {
  std::vector<GoldenCase> cases;
  nlohmann::json wikitext;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// FPTQ_TOKENIZER_GOLDEN_DIR is set by tests/tokenizer/CMakeLists.txt.
inline std::filesystem::path golden_path(const std::string& name) {
  return std::filesystem::path(FPTQ_TOKENIZER_GOLDEN_DIR) / name;
}

inline std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

inline GoldenFile load_golden(const std::string& name) {
  const auto j = nlohmann::json::parse(read_file(golden_path(name)));
  GoldenFile g;
  for (const auto& c : j.at("cases")) {
    GoldenCase gc;
    gc.name = c.at("name").get<std::string>();
    gc.bytes = from_hex(c.at("hex").get<std::string>());
    gc.valid_utf8 = c.value("valid_utf8", true);
    gc.ids = c.at("ids").get<std::vector<int32_t>>();
    gc.ids_parse_special = c.at("ids_parse_special").get<std::vector<int32_t>>();
    g.cases.push_back(std::move(gc));
  }
  g.wikitext = j.at("wikitext");
  return g;
}

// WikiText-2 raw test without its final newline, as llama.cpp's perplexity reads it.
inline std::string wikitext_without_final_newline() {
  std::string t = read_file(fptq::testing::shared_data("text/wikitext-2-raw-test.txt"));
  if (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

// Space-separated ids as in the shared goldens.
inline std::vector<int32_t> read_ids(const std::filesystem::path& p) {
  std::istringstream in(read_file(p));
  std::vector<int32_t> ids;
  for (int64_t x; in >> x;) ids.push_back(static_cast<int32_t>(x));
  return ids;
}

// FNV-1a 64 over the ids in decimal joined by single spaces (README).
inline uint64_t fnv1a64_ids(const std::vector<int32_t>& ids) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string s = (i ? " " : "") + std::to_string(ids[i]);
    for (const char c : s) {
      h ^= static_cast<uint8_t>(c);
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

inline std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& gguf) {
  const auto mf = io::read_gguf(gguf.string());
  return Tokenizer::from_metadata(mf->metadata, gguf.string());
}

// First index where two id sequences differ (for failure messages).
inline std::string first_difference(const std::vector<int32_t>& want,
                                    const std::vector<int32_t>& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  std::ostringstream s;
  s << "sizes " << want.size() << " vs " << got.size() << ", first difference at " << i;
  if (i < want.size()) s << " want " << want[i];
  if (i < got.size()) s << " got " << got[i];
  return s.str();
}

template <typename F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace fptq::tok::testing
