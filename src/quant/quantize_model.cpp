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
#include "quant/convert_tensor.h"
#include "quant/fold_model.h"
#include "quant/metrics.h"
#include "quant/weight_int8.h"

namespace fptq::quant {
namespace {

}  // namespace

double QuantizeReport::bpw_linear() const {
  return linear_params ? 8.0 * double(linear_bytes) / double(linear_params) : 0.0;
}
double QuantizeReport::bpw_linear_engine() const {
  double bits = 0;
  int64_t n = 0;
  for (const TensorResult& t : tensors) {
    if (!t.linear) continue;
    n += t.elements;
    if (io::is_int4_type(t.type) && t.group > 0)
      bits += double(t.elements) * (4.0 + 16.0 / double(t.group));
    else
      bits += 8.0 * double(t.bytes);
  }
  return n ? bits / double(n) : 0.0;
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
    // (Int4Grid::Auto choosing IQ4_NL for a planned Q4_0 is the recipe, not a fallback.)
    if (plan.tensors[i].fallback ||
        (tensors[i].type != plan.tensors[i].type &&
         !(io::is_int4_type(tensors[i].type) && io::is_int4_type(plan.tensors[i].type))))
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
  PlanContext pc;
  pc.pool = &pool;
  if (progress)
    pc.progress = [&](int64_t done, int64_t total) {
      progress(QuantProgress{"plan", done, total, timer.elapsed()});
    };
  rep.plan = plan_quantization(*src, stats, opts, pc);
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
    const std::vector<std::string> points = gptq_points(plan);
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
    const bool needs_h = tr.gptq && io::is_int4_type(tp.type) && !tp.point.empty();
    rep.tensors[size_t(i)] = convert_tensor(tp, ti, opts, needs_h ? &hessians.at(tp.point) : nullptr,
                                            bytes[size_t(i)], gptq_notes[size_t(i)]);
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
  const io::Metadata md = output_metadata(*src, plan);
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
