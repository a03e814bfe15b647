#include "quant/convert_tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "io/dequant.h"
#include "io/output_path.h"
#include "model/quant_spec.h"
#include "quant/metrics.h"
#include "quant/weight_int8.h"

namespace fptq::quant {
namespace {

// llama.cpp's llama_ftype values.
constexpr int64_t kFtypeMostlyQ4_0 = 2;
constexpr int64_t kFtypeMostlyQ8_0 = 7;
constexpr int64_t kFtypeMostlyIq4Nl = 25;  // llama.cpp's LLAMA_FTYPE_MOSTLY_IQ4_NL
constexpr int64_t kGgmlQuantizationVersion = 2;

template <typename Block>
std::vector<uint8_t> block_bytes(const std::vector<Block>& blocks) {
  std::vector<uint8_t> out(blocks.size() * sizeof(Block));
  if (!out.empty()) std::memcpy(out.data(), blocks.data(), out.size());
  return out;
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& w) {
  std::vector<uint8_t> out(w.size() * sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), w.data(), out.size());
  return out;
}

// F16 when every value fits, else F32 (`type` is updated).
std::vector<uint8_t> fp_bytes(const std::vector<float>& w, io::GgmlType& type,
                              std::vector<float>& approx, std::string& note) {
  if (type == io::GgmlType::F16) {
    std::vector<uint16_t> h(w.size());
    bool overflow = false;
    for (size_t i = 0; i < w.size(); ++i) {
      h[i] = f32_to_fp16(w[i]);
      overflow = overflow || (std::isfinite(w[i]) && (h[i] & 0x7c00u) == 0x7c00u);
    }
    if (!overflow) {
      approx.resize(w.size());
      for (size_t i = 0; i < w.size(); ++i) approx[i] = fp16_to_f32(h[i]);
      std::vector<uint8_t> out(h.size() * 2);
      if (!out.empty()) std::memcpy(out.data(), h.data(), out.size());
      return out;
    }
    type = io::GgmlType::F32;
    note += note.empty() ? "" : "; ";
    note += "a value exceeds the F16 range: F32";
  }
  approx = w;
  return f32_bytes(w);
}

}  // namespace

// H' = S⁻¹ H S⁻¹ for the folded input X' = X S⁻¹.
std::vector<double> fold_hessian(std::vector<double> h, const std::vector<float>& s) {
  const size_t k = s.size();
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) h[i * k + j] /= double(s[i]) * double(s[j]);
  return h;
}


void check_output_path(const io::ModelFile& src, const std::string& out_path) {
  if (out_path.empty()) fail("output path is empty");
  io::check_output_path(out_path, "output", src.path);
}

io::Metadata output_metadata(const io::ModelFile& src, const QuantPlan& plan) {
  const SchemeTraits tr = scheme_traits(plan.options.scheme);
  io::Metadata md;
  for (const auto& [key, value] : src.metadata.items()) md.add(key, value);
  md.set("general.file_type",
         io::Value::make_int(io::ValueType::U32,
                             tr.weights == WeightFormat::Int8        ? kFtypeMostlyQ8_0
                             : plan.options.int4.grid == Int4Grid::Nl ? kFtypeMostlyIq4Nl
                                                                      : kFtypeMostlyQ4_0));
  md.set("general.quantization_version",
         io::Value::make_int(io::ValueType::U32, kGgmlQuantizationVersion));
  model::write_quant_spec(plan.spec, md);
  md.set(std::string(kRecipeKey), io::Value::make_string(recipe_summary(plan.options)));
  // --act-clip: the percentile of |x'| the static scales came from (absent
  // when they are B'/127).
  if (plan.options.act_clip > 0)
    md.set(std::string(kActClipKey), io::Value::make_float(io::ValueType::F32, plan.options.act_clip));
  return md;
}

std::vector<std::string> gptq_points(const QuantPlan& plan, int64_t layer) {
  std::vector<std::string> points;
  for (const TensorPlan& t : plan.tensors)
    if (io::is_int4_type(t.type) && !t.point.empty() && (layer < 0 || t.layer == layer) &&
        std::find(points.begin(), points.end(), t.point) == points.end())
      points.push_back(t.point);
  return points;
}

TensorResult convert_tensor(const TensorPlan& tp, const io::TensorInfo& ti,
                            const QuantizeOptions& opts, const std::vector<double>* hessian,
                            std::vector<uint8_t>& out, std::string& gptq_note) {
  const SchemeTraits tr = scheme_traits(opts.scheme);
  TensorResult r;
  r.name = tp.name;
  r.type = tp.type;
  r.elements = ti.n_elements();
  r.group = tp.group;
  r.note = tp.note;
  r.linear = tp.role && (!tp.point.empty() || *tp.role == model::WeightRole::output);
  if (!tp.role) {
    out.assign(ti.data, ti.data + ti.nbytes);
  } else {
    const std::vector<float> w = io::dequantize_tensor(ti);
    std::vector<float> approx;
    const bool side = *tp.role == model::WeightRole::token_embd ||
                      *tp.role == model::WeightRole::output;
    // Every failure below names the tensor (the quantizers name row and
    // columns).
    try {
      switch (tp.type) {
        case io::GgmlType::F32:
          approx = w;
          out = f32_bytes(w);
          break;
        case io::GgmlType::F16: out = fp_bytes(w, r.type, approx, r.note); break;
        case io::GgmlType::Q8_0: {
          // Side tensors: one scale per 32-block (ggml's Q8_0); linear
          // weights of w8a8: one scale per output row (per-channel int8).
          const Int8Weights q = side ? quantize_int8_rows(w, tp.n * tp.k / 32, 32, tp.k)
                                     : quantize_int8_rows(w, tp.n, tp.k);
          approx = dequantize_int8(q);
          out = block_bytes(pack_q8_0(q));
          break;
        }
        case io::GgmlType::Q4_0:
        case io::GgmlType::IQ4_NL: {
          Int4Weights q;
          if (side) {
            q = quantize_int4(w, tp.n, tp.k, Int4Config{32, ScaleRule::Q4_0});
          } else if (tr.gptq) {
            FPTQ_CHECK_MSG(hessian != nullptr, "no Hessian for {}", tp.name);
            GptqConfig g = opts.gptq;
            g.int4 = Int4Config{tp.group == tp.k && opts.int4.group == 0 ? 0 : tp.group,
                                opts.int4.rule, tp.importance, opts.int4.grid};
            GptqReport gr;
            q = gptq_quantize(w, tp.n, tp.k, *hessian, g, &gr);
            if (gr.damp_used != g.damp || gr.dead_columns > 0)
              gptq_note = fmt::format("{}: GPTQ damping {:g}, {} dead columns", tp.name,
                                      gr.damp_used, gr.dead_columns);
          } else {
            q = quantize_int4(w, tp.n, tp.k,
                              Int4Config{tp.group == tp.k && opts.int4.group == 0 ? 0 : tp.group,
                                         opts.int4.rule, tp.importance, opts.int4.grid});
          }
          FPTQ_CHECK_MSG(q.status == Int4Status::Ok, "{}: {}", tp.name, q.message);
          // The grid the quantizer chose (Int4Grid::Auto decides per tensor).
          r.type = q.grid == Int4Grid::Nl ? io::GgmlType::IQ4_NL : io::GgmlType::Q4_0;
          approx = dequantize_int4(q);
          out = block_bytes(pack_q4_0(q));
          break;
        }
        default: FPTQ_CHECK_MSG(false, "unplanned type for {}", tp.name);
      }
    } catch (const Error& e) {
      fail("{}: {}", tp.name, e.what());
    }
    r.nmse = nmse(w, approx);
  }
  r.bytes = out.size();
  return r;
}

}  // namespace fptq::quant
