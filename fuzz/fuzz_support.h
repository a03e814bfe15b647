// Shared pieces of the libFuzzer targets: where the real vocabularies live,
// and the rule that a parser may only ever fail with fptq::Error.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "io/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace fptq::fuzz {

// Compiled-in data folders (CMake), overridable like the tests'.
inline std::string env_or(const char* name, const char* dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}

// The tokenizer of a GGUF file; exits (the fuzzer cannot run) when the file
// is missing, so a misconfigured run is loud rather than silently empty.
inline std::unique_ptr<tok::Tokenizer> load_tokenizer(const std::string& gguf) {
  try {
    auto file = io::read_gguf(gguf);
    return tok::Tokenizer::from_metadata(file->metadata, file->path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: cannot load the vocabulary: %s\n", e.what());
    std::exit(2);
  }
}

// Crash (a finding) when an invariant of a successful parse does not hold.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace fptq::fuzz
