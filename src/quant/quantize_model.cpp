#include "quant/quantize_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/half.h"
#include "core/timer.h"
#include "io/dequant.h"
#include "io/gguf_writer.h"
#include "model/model.h"
#include "quant/fold_model.h"
#include "quant/metrics.h"
#include "quant/weight_int8.h"

namespace fptq::quant {
namespace {

// llama.cpp's llama_ftype values.
constexpr int64_t kFtypeMostlyQ4_0 = 2;
constexpr int64_t kFtypeMostlyQ8_0 = 7;
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

// H' = S⁻¹ H S⁻¹ for the folded input X' = X S⁻¹.
std::vector<double> fold_hessian(std::vector<double> h, const std::vector<float>& s) {
  const size_t k = s.size();
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) h[i * k + j] /= double(s[i]) * double(s[j]);
  return h;
}

void check_output_path(const io::ModelFile& src, const std::string& out_path) {
  namespace fs = std::filesystem;
  if (out_path.empty()) fail("output path is empty");
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(out_path, ec);
  const fs::path in = fs::weakly_canonical(src.path, ec);
  if (out == in || (fs::exists(out_path) && fs::equivalent(out_path, src.path, ec)))
    fail("output '{}' is the input model: choose another output path", out_path);
  if (fs::is_directory(out_path)) fail("output '{}' is a directory", out_path);
  fs::path parent = fs::path(out_path).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent))
    fail("output '{}': folder '{}' does not exist", out_path, parent.string());
}

}  // namespace

double QuantizeReport::bpw_linear() const {
  return linear_params ? 8.0 * double(linear_bytes) / double(linear_params) : 0.0;
}
double QuantizeReport::bpw_tensors() const {
  return total_params ? 8.0 * double(tensor_bytes) / double(total_params) : 0.0;
}
double QuantizeReport::bpw_file() const {
  return total_params ? 8.0 * double(file_bytes) / double(total_params) : 0.0;
}
std::vector<const TensorResult*> QuantizeReport::fallbacks() const {
  std::vector<const TensorResult*> out;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (plan.tensors[i].fallback || tensors[i].type != plan.tensors[i].type)
      out.push_back(&tensors[i]);
  return out;
}

QuantizeReport quantize_model(std::shared_ptr<const io::ModelFile> src, const CalibStatsSet& stats,
                              const QuantizeOptions& opts, const std::string& out_path,
                              ThreadPool& pool, const QuantProgressFn& progress,
                              const CalibData* gptq_data) {
  Timer timer;
  check_output_path(*src, out_path);
  QuantizeReport rep;
  rep.plan = plan_quantization(*src, stats, opts);
  const QuantPlan& plan = rep.plan;
  const SchemeTraits tr = scheme_traits(opts.scheme);
  rep.output_path = out_path;

  std::map<std::string, std::vector<float>> folds;
  for (const PointPlan& p : plan.points)
    if (!p.fold.empty()) folds.emplace(p.name, p.fold);
  const auto folded = fold_model(src, plan.config, folds);

  // GPTQ: Hessians of the inputs of int4 tensors.
  std::map<std::string, std::vector<double>> hessians;
  if (tr.gptq) {
    if (!gptq_data || gptq_data->sequences.empty())
      fail("scheme '{}' uses GPTQ, which needs calibration sequences to collect Hessians "
           "(stats files hold none): give calibration options",
           scheme_name(opts.scheme));
    std::vector<std::string> points;
    for (const TensorPlan& t : plan.tensors)
      if (t.type == io::GgmlType::Q4_0 && !t.point.empty() &&
          std::find(points.begin(), points.end(), t.point) == points.end())
        points.push_back(t.point);
    Timer ht;
    const model::Model fp_model(src, pool);
    auto acc = collect_hessians(fp_model, *gptq_data, points, pool, [&](const CalibProgress& p) {
      if (progress) progress(QuantProgress{"hessians", p.sample, p.n_samples, timer.elapsed()});
    });
    for (auto& [name, a] : acc) {
      std::vector<double> h = a.matrix();
      auto f = folds.find(name);
      if (f != folds.end()) h = fold_hessian(std::move(h), f->second);
      hessians.emplace(name, std::move(h));
    }
    rep.seconds_hessians = ht.elapsed();
  }

  // Weights, one task per tensor.
  Timer wt;
  const size_t n_t = plan.tensors.size();
  std::vector<std::vector<uint8_t>> bytes(n_t);
  rep.tensors.resize(n_t);
  std::vector<std::string> gptq_notes(n_t);
  std::atomic<int64_t> done{0};
  std::mutex progress_mu;
  pool.parallel_for(int64_t(n_t), [&](int64_t i, int) {
    const TensorPlan& tp = plan.tensors[size_t(i)];
    const io::TensorInfo& ti = folded->tensors[size_t(i)];
    FPTQ_CHECK(ti.name == tp.name);
    TensorResult& r = rep.tensors[size_t(i)];
    r.name = tp.name;
    r.type = tp.type;
    r.elements = ti.n_elements();
    r.group = tp.group;
    r.note = tp.note;
    r.linear = tp.role && (!tp.point.empty() || *tp.role == model::WeightRole::output);
    std::vector<uint8_t>& out = bytes[size_t(i)];
    if (!tp.role) {
      out.assign(ti.data, ti.data + ti.nbytes);
    } else {
      const std::vector<float> w = io::dequantize_tensor(ti);
      std::vector<float> approx;
      const bool side = *tp.role == model::WeightRole::token_embd ||
                        *tp.role == model::WeightRole::output;
      switch (tp.type) {
        case io::GgmlType::F32:
          approx = w;
          out = f32_bytes(w);
          break;
        case io::GgmlType::F16: out = fp_bytes(w, r.type, approx, r.note); break;
        case io::GgmlType::Q8_0: {
          // Side tensors: one scale per 32-block (ggml's Q8_0); linear
          // weights of w8a8: one scale per output row (per-channel int8).
          const Int8Weights q = side ? quantize_int8_rows(w, tp.n * tp.k / 32, 32)
                                     : quantize_int8_rows(w, tp.n, tp.k);
          approx = dequantize_int8(q);
          out = block_bytes(pack_q8_0(q));
          break;
        }
        case io::GgmlType::Q4_0: {
          Int4Weights q;
          if (side) {
            q = quantize_int4(w, tp.n * tp.k / 32, 32, Int4Config{32, ScaleRule::Q4_0});
          } else if (tr.gptq) {
            GptqConfig g = opts.gptq;
            g.int4 = Int4Config{tp.group == tp.k && opts.int4.group == 0 ? 0 : tp.group,
                                opts.int4.rule};
            GptqReport gr;
            q = gptq_quantize(w, tp.n, tp.k, hessians.at(tp.point), g, &gr);
            if (gr.damp_used != g.damp || gr.dead_columns > 0)
              gptq_notes[size_t(i)] = fmt::format("{}: GPTQ damping {:g}, {} dead columns",
                                                  tp.name, gr.damp_used, gr.dead_columns);
          } else {
            q = quantize_int4(w, tp.n, tp.k,
                              Int4Config{tp.group == tp.k && opts.int4.group == 0 ? 0 : tp.group,
                                         opts.int4.rule});
          }
          FPTQ_CHECK_MSG(q.status == Int4Status::Ok, "{}: {}", tp.name, q.message);
          approx = dequantize_int4(q);
          out = block_bytes(pack_q4_0(q));
          break;
        }
        default: FPTQ_CHECK_MSG(false, "unplanned type for {}", tp.name);
      }
      r.nmse = nmse(w, approx);
    }
    r.bytes = out.size();
    const int64_t d = ++done;
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mu);
      progress(QuantProgress{"weights", d, int64_t(n_t), timer.elapsed()});
    }
  });
  rep.seconds_weights = wt.elapsed();
  for (const auto& n : gptq_notes)
    if (!n.empty()) rep.notes.push_back(n);

  // Metadata and file.
  io::Metadata md;
  for (const auto& [key, value] : src->metadata.items()) md.add(key, value);
  md.set("general.file_type",
         io::Value::make_int(io::ValueType::U32,
                             tr.weights == WeightFormat::Int8 ? kFtypeMostlyQ8_0 : kFtypeMostlyQ4_0));
  md.set("general.quantization_version",
         io::Value::make_int(io::ValueType::U32, kGgmlQuantizationVersion));
  model::write_quant_spec(plan.spec, md);
  io::GgufWriter writer(src->format == "gguf" ? src->alignment : 32);
  for (const auto& [key, value] : md.items()) writer.add(key, value);
  for (size_t i = 0; i < n_t; ++i) {
    const io::TensorInfo& ti = src->tensors[i];
    writer.add_tensor_view(ti.name, rep.tensors[i].type, ti.ne, bytes[i].data(), bytes[i].size());
  }
  if (progress) progress(QuantProgress{"write", 0, 1, timer.elapsed()});
  writer.write(out_path);
  if (progress) progress(QuantProgress{"write", 1, 1, timer.elapsed()});

  rep.file_bytes = std::filesystem::file_size(out_path);
  for (const TensorResult& r : rep.tensors) {
    rep.total_params += r.elements;
    rep.tensor_bytes += r.bytes;
    if (r.linear) {
      rep.linear_params += r.elements;
      rep.linear_bytes += r.bytes;
    }
  }
  rep.seconds_total = timer.elapsed();
  return rep;
}

}  // namespace fptq::quant
