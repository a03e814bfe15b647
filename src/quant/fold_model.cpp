#include "quant/fold_model.h"

#include "core/error.h"
#include "io/dequant.h"
#include "model/observer.h"
#include "model/weights.h"
#include "quant/fold.h"

namespace fptq::quant {

std::shared_ptr<const io::ModelFile> fold_model(std::shared_ptr<const io::ModelFile> src,
                                                const model::LlamaConfig& cfg,
                                                const std::map<std::string, std::vector<float>>& folds) {
  auto out = std::make_shared<io::ModelFile>();
  out->path = src->path + " (folded)";
  out->format = src->format;
  out->gguf_version = src->gguf_version;
  out->alignment = src->alignment;
  out->metadata = src->metadata;
  out->tensors = src->tensors;
  out->storage.push_back(src);

  // tensor name -> (scale, is the norm)
  std::map<std::string, std::pair<const std::vector<float>*, bool>> targets;
  for (const auto& [point, s] : folds) {
    bool matched = false;
    for (int64_t l = 0; l < cfg.n_layer && !matched; ++l) {
      if (point == model::observation_point_name(l, model::MatmulInput::attn_qkv_in)) {
        targets[model::block_tensor_name(l, "attn_norm", "weight")] = {&s, true};
        for (const char* b : {"attn_q", "attn_k", "attn_v"})
          targets[model::block_tensor_name(l, b, "weight")] = {&s, false};
        matched = true;
      } else if (point == model::observation_point_name(l, model::MatmulInput::ffn_gate_up_in)) {
        targets[model::block_tensor_name(l, "ffn_norm", "weight")] = {&s, true};
        for (const char* b : {"ffn_gate", "ffn_up"})
          targets[model::block_tensor_name(l, b, "weight")] = {&s, false};
        matched = true;
      }
    }
    if (!matched)
      fail("fold: '{}' is not a point with a norm to fold into (blk.N.attn_qkv_in or "
           "blk.N.ffn_gate_up_in)",
           point);
    if (int64_t(s.size()) != cfg.dim)
      fail("fold: '{}' has {} scales, the model's dimension is {}", point, s.size(), cfg.dim);
  }
  for (io::TensorInfo& t : out->tensors) {
    auto it = targets.find(t.name);
    if (it == targets.end()) continue;
    auto data = std::make_shared<std::vector<float>>(io::dequantize_tensor(t));
    const std::vector<float>& s = *it->second.first;
    if (it->second.second)
      fold_into_norm(*data, s);
    else
      fold_into_weight(*data, s);
    t.type = io::GgmlType::F32;
    t.offset = 0;
    t.data = reinterpret_cast<const uint8_t*>(data->data());
    t.nbytes = uint64_t(data->size()) * sizeof(float);
    out->storage.push_back(std::move(data));
  }
  return out;
}

}  // namespace fptq::quant
