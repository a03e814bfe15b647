// Helpers of the streaming-quantization tests: whole-model reference runs
// and byte comparison.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "quant/quantize_model.h"
#include "quant/stream_quantize.h"

namespace fptq::quant::testutil {

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Default options of one scheme: quant::scheme_options (plan.h).
using quant::scheme_options;

}  // namespace fptq::quant::testutil
