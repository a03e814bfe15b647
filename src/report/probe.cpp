#include "report/probe.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "core/error.h"
#include "io/dequant.h"
#include "kernels/matmul_f32.h"
#include "model/engine_plan.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/weights.h"
#include "quant/act_quant.h"
#include "quant/metrics.h"
#include "tokenizer/utf8.h"

namespace fptq::report {
namespace {

void apply_quant(const model::PointQuant& q, std::span<float> x, int64_t cols) {
  switch (q.mode) {
    case model::ActQuant::fp: return;
    case model::ActQuant::static_:
      if (q.isolate)
        quant::fake_quant_static_isolated(x, cols, q.scale);
      else
        quant::fake_quant_static(x, q.scale);
      return;
    case model::ActQuant::dynamic:  // one Δ per token, or per group of a token
      quant::fake_quant_dynamic(x, q.group > 0 ? q.group : cols);
      return;
  }
}

// Token text for display: well-formed UTF-8, control characters visible.
std::string display_text(const std::string& raw) {
  const std::string s = tok::utf8_is_valid(raw) ? raw : tok::utf8_repair(raw).text;
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\u23ce";
    else if (c == '\t') out += "\u21e5";
    else if (static_cast<unsigned char>(c) < 0x20) out += "\ufffd";
    else out += c;
  }
  return out;
}

void divide_columns(std::span<float> x, const std::vector<float>& s) {
  if (s.empty()) return;
  const size_t k = s.size();
  for (size_t i = 0; i < x.size(); ++i) x[i] /= s[i % k];
}

struct Sampler {
  std::vector<float> rows;  // sampled FP input rows
  ErrorSum act_err;
  int64_t zero = 0, clip = 0, values = 0;
};

class ProbeObserver : public model::Observer {
 public:
  ProbeObserver(std::vector<PointProbe>& pts, std::vector<Sampler>& samplers, int64_t stride,
                int64_t top_rows)
      : pts_(pts), samplers_(samplers), stride_(stride), top_rows_(top_rows) {}
  int64_t seq = 0;

  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    if (p.layer < 0) return;
    const size_t idx = size_t(p.layer * model::kBlockPoints + model::block_point_index(p.kind));
    PointProbe& P = pts_[idx];
    Sampler& S = samplers_[idx];
    const std::span<const float> xin(x, size_t(rows * cols));
    P.before.observe(xin);
    std::vector<float> xs(xin.begin(), xin.end());
    divide_columns(xs, P.fold);
    P.after.observe(xs);
    for (int64_t t = 0; t < rows; ++t) {
      float best = -1;
      int64_t ch = 0;
      for (int64_t j = 0; j < cols; ++j) {
        const float a = std::fabs(x[t * cols + j]);
        if (a > best) best = a, ch = j;
      }
      if (int64_t(P.top.size()) < top_rows_ || best > P.top.back().value) {
        TopRow r;
        r.value = best;
        r.channel = ch;
        r.seq = seq;
        r.pos = t;
        P.top.push_back(r);
        std::stable_sort(P.top.begin(), P.top.end(),
                         [](const TopRow& a, const TopRow& b) { return a.value > b.value; });
        if (int64_t(P.top.size()) > top_rows_) P.top.pop_back();
      }
      if (t % stride_ == 0)
        S.rows.insert(S.rows.end(), xin.begin() + t * cols, xin.begin() + (t + 1) * cols);
    }
    std::vector<float> xq = xs;
    apply_quant(P.quant, xq, cols);
    S.act_err.add(xs, xq);
    if (P.quant.mode == model::ActQuant::static_)
      P.act_codes.merge(static_int8_codes(xs, P.quant.scale));
    else if (P.quant.mode == model::ActQuant::dynamic)
      P.act_codes.merge(dynamic_int8_codes(xs, P.quant.group > 0 ? P.quant.group : cols));
    if (P.quant.mode == model::ActQuant::static_) {
      const double d = P.quant.scale;
      for (float v : xs) {
        const double a = std::fabs(v);
        S.zero += a < 0.5 * d;
        S.clip += a > 127.5 * d;
      }
      S.values += int64_t(xs.size());
    }
  }

 private:
  std::vector<PointProbe>& pts_;
  std::vector<Sampler>& samplers_;
  int64_t stride_, top_rows_;
};

}  // namespace

std::string strategy_of(const model::PointQuant& q) {
  if (q.mode == model::ActQuant::static_) return q.lae ? "lae_static" : "static";
  return std::string(model::act_quant_name(q.mode));
}

std::vector<float> recover_fold(const QuantizedPair& pair, int64_t layer, model::MatmulInput kind) {
  if (!pair.spec.point(layer, kind).lae) return {};
  const char* norm = kind == model::MatmulInput::attn_qkv_in ? "attn_norm" : "ffn_norm";
  if (kind != model::MatmulInput::attn_qkv_in && kind != model::MatmulInput::ffn_gate_up_in)
    fail("{}: point {} of block {} is marked LAE but has no norm", pair.q->path,
         model::matmul_input_name(kind), layer);
  const std::string name = model::block_tensor_name(layer, norm, "weight");
  const std::vector<float> a = io::dequantize_tensor(pair.fp->tensor(name));
  const std::vector<float> b = io::dequantize_tensor(pair.q->tensor(name));
  std::vector<float> s(a.size(), 1.0f);
  for (size_t j = 0; j < a.size(); ++j)
    if (b[j] != 0 && std::isfinite(a[j] / b[j]) && a[j] / b[j] > 0) s[j] = a[j] / b[j];
  return s;
}

std::vector<PointProbe> probe_points(const QuantizedPair& pair, const quant::CalibData& data,
                                     const tok::Tokenizer& tok, ThreadPool& pool,
                                     const ProbeOptions& opts) {
  if (data.sequences.empty()) fail("probe: no calibration sequences");
  const model::LlamaConfig& cfg = pair.cfg;
  std::vector<PointProbe> pts;
  for (int64_t l = 0; l < cfg.n_layer; ++l)
    for (auto kind : model::kBlockInputs) {
      PointProbe P;
      P.name = model::observation_point_name(l, kind);
      P.layer = l;
      P.kind = std::string(model::matmul_input_name(kind));
      P.quant = pair.spec.point(l, kind);
      P.strategy = strategy_of(P.quant);
      P.fold = recover_fold(pair, l, kind);
      const int64_t cols = kind == model::MatmulInput::ffn_down_in ? cfg.ffn_dim
                           : kind == model::MatmulInput::attn_out_in ? cfg.n_head * cfg.head_dim
                                                                     : cfg.dim;
      P.before = quant::ChannelStats(cols);
      P.after = quant::ChannelStats(cols);
      pts.push_back(std::move(P));
    }
  std::vector<Sampler> samplers(pts.size());
  int64_t total_rows = 0;
  for (const auto& s : data.sequences) total_rows += int64_t(s.size());
  const int64_t stride = std::max<int64_t>(1, total_rows / std::max<int64_t>(1, opts.rows_per_point));

  {
    const model::Model fp(pair.fp, pool, model::LoadOptions{model::RunMode::emulate});
    ProbeObserver obs(pts, samplers, stride, opts.top_rows);
    std::vector<float> logits;
    for (size_t i = 0; i < data.sequences.size(); ++i) {
      obs.seq = int64_t(i);
      const auto& seq = data.sequences[i];
      model::KvCache cache(cfg, int64_t(seq.size()));
      fp.forward(seq, cache, pool, model::Logits::last, logits, &obs);
    }
  }

  for (size_t pi = 0; pi < pts.size(); ++pi) {
    PointProbe& P = pts[pi];
    Sampler& S = samplers[pi];
    P.act_nmse = S.act_err.nmse();
    if (S.values > 0) {
      P.zero_frac = double(S.zero) / double(S.values);
      P.clip_frac = double(S.clip) / double(S.values);
    }
    for (TopRow& r : P.top) {
      const auto& seq = data.sequences[size_t(r.seq)];
      r.token = seq[size_t(r.pos)];
      const int64_t from = std::max<int64_t>(0, r.pos - opts.context_tokens);
      std::string ctx;
      for (int64_t t = from; t < r.pos; ++t) ctx += tok.token_bytes(seq[size_t(t)]);
      r.context = display_text(ctx) + "[" + display_text(tok.token_bytes(r.token)) + "]";
    }
    const int64_t cols = P.before.channels();
    const int64_t m = int64_t(S.rows.size()) / cols;
    P.rows_sampled = m;
    std::vector<float> xq = S.rows;
    divide_columns(xq, P.fold);
    apply_quant(P.quant, xq, cols);
    ErrorSum pooled;
    model::for_each_weight(cfg, [&](const model::WeightSpec& w) {
      if (w.layer != P.layer || !w.is_linear() ||
          model::matmul_input_name(model::input_of(w.role)) != P.kind)
        return;
      TensorProbe T;
      T.name = w.name;
      const io::TensorInfo& qi = pair.q->tensor(w.name);
      T.type = std::string(io::type_info(qi.type).name);
      T.k = qi.row_elems();
      T.n = qi.rows();
      const std::vector<float> wf = io::dequantize_tensor(pair.fp->tensor(w.name));
      const std::vector<float> wq = io::dequantize_tensor(qi);
      std::vector<float> ws = wf;
      if (!P.fold.empty())
        for (size_t i = 0; i < ws.size(); ++i) ws[i] *= P.fold[i % size_t(T.k)];
      T.weight_nmse = quant::nmse(ws, wq);
      T.w_absmax = abs_max(ws);
      const double r = T.w_absmax > 0 ? T.w_absmax : 1.0;
      T.hist_fp = linear_histogram(ws, -r, r, opts.hist_bins);
      T.hist_q = linear_histogram(wq, -r, r, opts.hist_bins);
      if (auto codes = weight_codes(T.type, std::span<const uint8_t>(qi.data, size_t(qi.nbytes)),
                                    qi.n_elements()))
        T.codes = std::move(*codes);
      if (m > 0) {
        const kernels::PackedF32 pf = kernels::pack_f32(wf.data(), T.n, T.k);
        const kernels::PackedF32 pq = kernels::pack_f32(wq.data(), T.n, T.k);
        std::vector<float> y(size_t(m * T.n)), yq(size_t(m * T.n));
        kernels::matmul_f32(S.rows.data(), pf, y.data(), m, pool);
        kernels::matmul_f32(xq.data(), pq, yq.data(), m, pool);
        ErrorSum e;
        e.add(y, yq);
        pooled.add(y, yq);
        T.out_nmse = e.nmse();
      }
      P.tensors.push_back(std::move(T));
    });
    P.out_nmse = pooled.nmse();
    S.rows.clear();
    S.rows.shrink_to_fit();
  }
  return pts;
}

}  // namespace fptq::report
