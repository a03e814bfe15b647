#include "report/mixed_model.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "model/engine_plan.h"
#include "model/observer.h"
#include "model/weights.h"

namespace fptq::report {
namespace {

// tensor name -> point, for every block tensor that belongs to one.
std::map<std::string, std::string> tensor_points(const model::LlamaConfig& cfg) {
  std::map<std::string, std::string> out;
  model::for_each_weight(cfg, [&](const model::WeightSpec& w) {
    if (w.layer < 0) return;
    if (w.is_linear()) {
      out[w.name] = model::observation_point_name(w.layer, model::input_of(w.role));
    } else if (w.role == model::WeightRole::attn_norm) {
      out[w.name] = model::observation_point_name(w.layer, model::MatmulInput::attn_qkv_in);
    } else if (w.role == model::WeightRole::ffn_norm) {
      out[w.name] = model::observation_point_name(w.layer, model::MatmulInput::ffn_gate_up_in);
    }
  });
  return out;
}

}  // namespace

std::vector<std::string> all_points(const model::LlamaConfig& cfg) {
  std::vector<std::string> out;
  for (int64_t l = 0; l < cfg.n_layer; ++l)
    for (auto k : model::kBlockInputs) out.push_back(model::observation_point_name(l, k));
  return out;
}

std::string point_of_tensor(const model::LlamaConfig& cfg, const std::string& tensor) {
  const auto m = tensor_points(cfg);
  const auto it = m.find(tensor);
  return it == m.end() ? std::string() : it->second;
}

QuantizedPair open_quantized_pair(std::shared_ptr<const io::ModelFile> fp,
                                  std::shared_ptr<const io::ModelFile> q) {
  QuantizedPair p;
  p.cfg = model::read_config(*fp);
  const model::LlamaConfig qc = model::read_config(*q);
  if (qc.n_layer != p.cfg.n_layer || qc.dim != p.cfg.dim || qc.ffn_dim != p.cfg.ffn_dim ||
      qc.n_vocab != p.cfg.n_vocab || qc.architecture != p.cfg.architecture)
    fail("{} is not a quantization of {}: the configurations differ", q->path, fp->path);
  if (model::read_quant_spec(*fp, p.cfg.n_layer).present)
    fail("{} carries fptq.* keys: give the FP model first", fp->path);
  p.spec = model::read_quant_spec(*q, p.cfg.n_layer);
  if (!p.spec.present) fail("{} carries no fptq.* keys: give a file written by `fptq quantize`", q->path);
  model::for_each_weight(p.cfg, [&](const model::WeightSpec& w) {
    const io::TensorInfo* a = fp->find_tensor(w.name);
    const io::TensorInfo* b = q->find_tensor(w.name);
    if ((a == nullptr) != (b == nullptr) || (a && a->ne != b->ne))
      fail("{} is not a quantization of {}: tensor {} differs", q->path, fp->path, w.name);
  });
  p.fp = std::move(fp);
  p.q = std::move(q);
  return p;
}

std::shared_ptr<const io::ModelFile> mixed_model_file(const QuantizedPair& pair,
                                                      const std::set<std::string>& quantized) {
  const auto pts = all_points(pair.cfg);
  for (const std::string& s : quantized)
    if (s != "output_in" && std::find(pts.begin(), pts.end(), s) == pts.end())
      fail("unknown observation point '{}'", s);
  const auto tp = tensor_points(pair.cfg);
  auto out = std::make_shared<io::ModelFile>();
  out->path = pair.fp->path + " (mixed)";
  out->format = pair.fp->format;
  out->gguf_version = pair.fp->gguf_version;
  out->alignment = pair.fp->alignment;
  for (const auto& [k, v] : pair.fp->metadata.items()) out->metadata.add(k, v);
  out->storage = pair.fp->storage;
  out->storage.insert(out->storage.end(), pair.q->storage.begin(), pair.q->storage.end());
  out->storage.push_back(std::static_pointer_cast<const void>(pair.fp));
  out->storage.push_back(std::static_pointer_cast<const void>(pair.q));
  for (const io::TensorInfo& t : pair.fp->tensors) {
    const auto it = tp.find(t.name);
    if (it != tp.end() && quantized.count(it->second)) {
      out->tensors.push_back(pair.q->tensor(t.name));
    } else {
      out->tensors.push_back(t);
    }
  }
  return out;
}

model::QuantSpec mixed_spec(const QuantizedPair& pair, const std::set<std::string>& quantized,
                            model::ActQuant others) {
  model::QuantSpec s = pair.spec;
  for (int64_t l = 0; l < pair.cfg.n_layer; ++l)
    for (auto k : model::kBlockInputs)
      if (!quantized.count(model::observation_point_name(l, k))) s.point(l, k).mode = others;
  if (!quantized.count("output_in")) s.output.mode = model::ActQuant::fp;
  return s;
}

double block_linear_bpw(const QuantizedPair& pair, const std::set<std::string>& kept,
                        double kept_bits) {
  double bits = 0, params = 0;
  model::for_each_weight(pair.cfg, [&](const model::WeightSpec& w) {
    if (w.layer < 0 || !w.is_linear()) return;
    const io::TensorInfo& t = pair.q->tensor(w.name);
    const double n = double(t.n_elements());
    params += n;
    const std::string pt = model::observation_point_name(w.layer, model::input_of(w.role));
    bits += kept.count(pt) ? kept_bits * n : 8.0 * double(t.nbytes);
  });
  return params > 0 ? bits / params : 0.0;
}

}  // namespace fptq::report
