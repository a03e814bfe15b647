// Which engine runs a model file: the kernel of every linear layer (F32,
// W4A8, W8A8) and the quantizer of every matmul input.
//
// Integer mode (the default): a Q4_0 tensor runs as W4A8 and a Q8_0 tensor as
// W8A8 when its input point is quantized; every other type, and every layer
// whose input point is fp, is dequantized to F32. The point quantizers come
// from the file's fptq.* keys (quant_spec.h); a file without them (a plain
// llama.cpp GGUF) quantizes dynamically per token every point that has a
// Q4_0/Q8_0 consumer. The quantizer belongs to the point: an F32 consumer of
// a quantized point reads x̂ = q·Δ, as the exact emulation does.
//
// Emulate mode: every layer is F32 (weights dequantized) and nothing is
// quantized by the engine; attach an Observer that fake-quantizes the inputs
// per `act` (quant::EmulationObserver) to emulate the integer engine.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_file.h"
#include "kernels/quantize_i8.h"
#include "model/config.h"
#include "model/linear.h"
#include "model/observer.h"
#include "model/quant_spec.h"
#include "model/weights.h"

namespace fptq::model {

enum class RunMode { integer, emulate };
std::string_view run_mode_name(RunMode mode);  // "integer", "emulate"

struct LoadOptions {
  RunMode mode = RunMode::integer;
};

// How the integer engine prepares the input at one observation point.
struct PointEngine {
  bool quantized = false;        // consumers read int8 codes (integer mode, mode != fp)
  kernels::ActQuant act;         // the quantizer (static Δ or dynamic)
  bool float_consumers = false;  // a consumer runs F32 and reads x̂ = q·Δ
  int64_t group = 0;             // int4 group of the W4A8 consumers (0: none)
};

struct EnginePlan {
  RunMode mode = RunMode::integer;
  // The activation quantizer of every point (spec.present tells whether it
  // came from fptq.* keys or was derived from the tensor types).
  QuantSpec act;
  // Kernel of every linear layer by weight name; the head is "output.weight"
  // also when it is tied to token_embd.weight.
  std::map<std::string, LinearKind> kinds;
  std::vector<std::array<PointEngine, kBlockPoints>> layers;  // [n_layer]
  PointEngine output;

  const PointEngine& point(int64_t layer, MatmulInput kind) const;
  LinearKind kind(const std::string& weight_name) const;  // FPTQ_CHECKs it is planned
  int64_t count(LinearKind kind) const;
  // One line: mode, ISA, layer counts by kernel, point counts by quantizer.
  std::string describe() const;
};

// The point whose activations a linear weight multiplies.
MatmulInput input_of(WeightRole role);

// Plans the engine for `file` (reads tensor types and, for Q4_0 tensors, the
// block scales to find each point's uniform int4 group). Throws fptq::Error
// when the fptq.* keys are malformed.
EnginePlan plan_engine(const io::ModelFile& file, const LlamaConfig& cfg, RunMode mode);

}  // namespace fptq::model
