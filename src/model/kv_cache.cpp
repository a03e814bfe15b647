#include "model/kv_cache.h"

#include "core/error.h"
#include "core/memory_budget.h"

namespace fptq::model {

KvCache::KvCache(const LlamaConfig& cfg, int64_t capacity)
    : n_layer_(cfg.n_layer), capacity_(capacity), kv_dim_(cfg.kv_dim()) {
  if (capacity < 1) fail("KV cache capacity {} must be at least 1", capacity);
  // K and V, F32.
  check_allocation(fmt::format("a KV cache of {} tokens", capacity),
                   {2, uint64_t(n_layer_), uint64_t(capacity_), uint64_t(kv_dim_), sizeof(float)},
                   "use a shorter context or fewer new tokens");
  const size_t n = size_t(n_layer_) * size_t(capacity_) * size_t(kv_dim_);
  k_.assign(n, 0.0f);
  v_.assign(n, 0.0f);
}

void KvCache::advance(int64_t n) {
  FPTQ_CHECK_MSG(n >= 0 && n_past_ + n <= capacity_, "KV cache overflow: {} + {} > {}", n_past_, n,
                 capacity_);
  n_past_ += n;
}

}  // namespace fptq::model
