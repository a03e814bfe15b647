#include "quant/emulation_observer.h"

#include <span>

#include "core/error.h"
#include "quant/act_quant.h"

namespace fptq::quant {

void EmulationObserver::on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                                        int64_t cols) {
  FPTQ_CHECK(p.layer < int64_t(spec_.layers.size()));
  const model::PointQuant& q = spec_.point(p.layer, p.kind);
  std::span<float> v(x, size_t(rows * cols));
  switch (q.mode) {
    case model::ActQuant::fp: return;
    case model::ActQuant::static_: fake_quant_static(v, q.scale); return;
    case model::ActQuant::dynamic: fake_quant_dynamic(v, cols); return;
  }
}

}  // namespace fptq::quant
