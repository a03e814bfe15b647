#include "quant/emulation_observer.h"

#include <algorithm>
#include <span>

#include "core/error.h"
#include "quant/act_quant.h"

namespace fptq::quant {

void EmulationObserver::on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                                        int64_t cols) {
  FPTQ_CHECK(p.layer < int64_t(spec_.layers.size()));
  const model::PointQuant& q = spec_.point(p.layer, p.kind);
  std::span<float> v(x, size_t(rows * cols));
  last_layer_ = -2;
  if (q.mode == model::ActQuant::fp) return;
  last_cols_ = cols;
  last_group_ = q.mode == model::ActQuant::dynamic ? q.group : 0;
  if (last_group_ > 0 && cols % last_group_ != 0)
    fail("emulation: activation group {} does not divide the {} columns of {}", last_group_, cols,
         p.name);
  last_scales_.assign(size_t(std::max<int64_t>(rows, 0)), q.scale);
  if (q.mode == model::ActQuant::static_ && q.isolate) {
    for (int64_t r = 0; r < rows; ++r)
      last_scales_[size_t(r)] =
          isolated_act_scale(v.subspan(size_t(r * cols), size_t(cols)), q.scale);
    fake_quant_static_isolated(v, cols, q.scale);
  } else if (q.mode == model::ActQuant::static_) {
    fake_quant_static(v, q.scale);
  } else {
    // Dynamic: one Δ per row of width w (a token, or one group of a token).
    const int64_t w = last_group_ > 0 ? last_group_ : cols;
    const int64_t n_rows = std::max<int64_t>(rows, 0);
    last_scales_.resize(size_t(w > 0 ? n_rows * (cols / w) : n_rows));
    for (size_t r = 0; r < last_scales_.size(); ++r)
      last_scales_[r] = dynamic_act_scale(v.subspan(r * size_t(w), size_t(w)));
    fake_quant_dynamic(v, w);
  }
  last_layer_ = p.layer;
  last_kind_ = p.kind;
}

bool EmulationObserver::input_scales(const model::ObservationPoint& p, float* scales,
                                     int64_t rows) {
  if (p.layer != last_layer_ || (p.layer >= 0 && p.kind != last_kind_) || last_group_ != 0 ||
      rows != int64_t(last_scales_.size()))
    return false;
  std::copy(last_scales_.begin(), last_scales_.end(), scales);
  return true;
}

bool EmulationObserver::input_group_scales(const model::ObservationPoint& p, int64_t rows,
                                           int64_t cols, std::vector<float>& scales,
                                           int64_t& group) {
  if (p.layer != last_layer_ || (p.layer >= 0 && p.kind != last_kind_) || last_group_ == 0 ||
      cols != last_cols_ || rows * (cols / last_group_) != int64_t(last_scales_.size()))
    return false;
  scales = last_scales_;
  group = last_group_;
  return true;
}

}  // namespace fptq::quant
