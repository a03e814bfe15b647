#include "model/block_forward.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "io/dequant.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/quant_spec.h"
#include "model/weights.h"

namespace fptq::model {
namespace {

// Rows of the view's placeholder embedding.
constexpr int64_t kViewVocab = 2;

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

// Renames the observation points of the one-block model (blk.0.*) to the
// block's own and forwards to `inner`.
class RenamingObserver : public Observer {
 public:
  RenamingObserver(Observer* inner, int64_t layer) : inner_(inner), layer_(layer) {
    for (int k = 0; k < kBlockPoints; ++k)
      names_[size_t(k)] = observation_point_name(layer, kBlockInputs[size_t(k)]);
  }
  void on_matmul_input(const ObservationPoint& p, float* x, int64_t rows, int64_t cols) override {
    if (p.layer < 0) return;  // the one-row head is not part of the block
    const int k = block_point_index(p.kind);
    inner_->on_matmul_input(ObservationPoint{layer_, p.kind, names_[size_t(k)]}, x, rows, cols);
  }

 private:
  Observer* inner_;
  int64_t layer_;
  std::array<std::string, kBlockPoints> names_;
};

// `msg` with the view's tensor names (blk.0.*) spelled as the block's own
// (blk.<layer>.*).
std::string with_block_names(std::string_view msg, int64_t layer) {
  constexpr std::string_view kView = "blk.0.";
  const std::string real = fmt::format("blk.{}.", layer);
  std::string out;
  size_t at = 0;
  for (size_t p; (p = msg.find(kView, at)) != std::string_view::npos; at = p + kView.size()) {
    const bool inside_word = p > 0 && std::isalnum(static_cast<unsigned char>(msg[p - 1]));
    out.append(msg.substr(at, p - at));
    out.append(inside_word ? kView : std::string_view(real));
  }
  out.append(msg.substr(at));
  return out;
}

// Model over the view of block `layer`; its load errors name the block's
// real tensors.
std::unique_ptr<Model> load_block(std::shared_ptr<const io::ModelFile> file, const LlamaConfig& cfg,
                                  int64_t layer, ThreadPool& pool, LoadOptions opt) {
  std::shared_ptr<const io::ModelFile> view = make_block_view(std::move(file), cfg, layer);
  try {
    return std::make_unique<Model>(std::move(view), pool, opt);
  } catch (const Error& e) {
    if (layer == 0) throw;
    throw Error(with_block_names(e.what(), layer));
  }
}

}  // namespace

void Model::forward_hidden(std::span<float> x, KvCache& cache, ThreadPool& pool,
                           Observer* observer) const {
  FPTQ_CHECK(int64_t(x.size()) % cfg_.dim == 0);
  const int64_t n = int64_t(x.size()) / cfg_.dim;
  if (n == 0) fail("{}: forward pass over empty hidden states", file_->path);
  if (cache.n_past() + n > cache.capacity()) {
    fail("{}: context full: {} cached + {} new tokens > KV cache capacity {}", file_->path,
         cache.n_past(), n, cache.capacity());
  }
  for (int64_t done = 0; done < n;) {
    const int64_t rows = std::min(kMaxBatchRows, n - done);
    Batch b(cfg_, rows, cache.n_past(), pool);
    float* xr = x.data() + done * cfg_.dim;
    std::copy_n(xr, rows * cfg_.dim, b.x.data());
    for (int64_t l = 0; l < cfg_.n_layer; ++l) {
      attention_block(l, b, cache, pool, observer);
      ffn_block(l, b, pool, observer);
    }
    std::copy_n(b.x.data(), rows * cfg_.dim, xr);
    cache.advance(rows);
    done += rows;
  }
}

std::shared_ptr<const io::ModelFile> make_block_view(std::shared_ptr<const io::ModelFile> file,
                                                     const LlamaConfig& cfg, int64_t layer) {
  FPTQ_CHECK(layer >= 0 && layer < cfg.n_layer);
  auto v = std::make_shared<io::ModelFile>();
  v->path = file->path;
  v->format = file->format;
  v->gguf_version = file->gguf_version;
  v->alignment = file->alignment;
  v->storage.push_back(file);

  const std::string arch = cfg.architecture + ".";
  for (const auto& [key, value] : file->metadata.items()) {
    if (starts_with(key, "fptq.")) continue;  // rewritten below for this block only
    if (starts_with(key, "tokenizer.")) continue;  // the block never tokenizes
    if (key == arch + "block_count") {
      v->metadata.add(key, io::Value::make_int(value.type, 1));
    } else if (key == arch + "vocab_size") {
      v->metadata.add(key, io::Value::make_int(value.type, kViewVocab));
    } else {
      v->metadata.add(key, value);
    }
  }
  const QuantSpec spec = read_quant_spec(*file, cfg.n_layer);
  if (spec.present) {
    QuantSpec one = spec;
    one.layers = {spec.layers[size_t(layer)]};
    write_quant_spec(one, v->metadata);
  }

  // A two-row zero embedding (the view's head is tied to it; one row would
  // read as a vector): the block never reads it.
  auto zeros = std::make_shared<std::vector<float>>(size_t(cfg.dim * kViewVocab), 0.0f);
  io::TensorInfo embd;
  embd.name = "token_embd.weight";
  embd.type = io::GgmlType::F32;
  embd.ne = {cfg.dim, kViewVocab};
  embd.data = reinterpret_cast<const uint8_t*>(zeros->data());
  embd.nbytes = uint64_t(cfg.dim * kViewVocab) * sizeof(float);
  v->tensors.push_back(embd);
  v->storage.push_back(zeros);

  LlamaConfig one_cfg = cfg;
  one_cfg.n_layer = layer + 1;  // enumerate up to `layer`, keep only its tensors
  for_each_weight(one_cfg, [&](const WeightSpec& s) {
    if (s.layer != layer) return;
    io::TensorInfo t = file->tensor(s.name);
    t.name = "blk.0" + s.name.substr(s.name.find('.', 4));
    v->tensors.push_back(std::move(t));
  });
  v->tensors.push_back(file->tensor("output_norm.weight"));
  return v;
}

BlockModel::BlockModel(std::shared_ptr<const io::ModelFile> file, const LlamaConfig& cfg,
                       int64_t layer, ThreadPool& pool, LoadOptions opt)
    : layer_(layer),
      model_(load_block(std::move(file), cfg, layer, pool, opt)) {}

void BlockModel::run(std::span<float> x, ThreadPool& pool, Observer* obs) const {
  const LlamaConfig& c = model_->config();
  KvCache cache(c, int64_t(x.size()) / c.dim);
  if (obs) {
    RenamingObserver ren(obs, layer_);
    model_->forward_hidden(x, cache, pool, &ren);
  } else {
    model_->forward_hidden(x, cache, pool, nullptr);
  }
}

void embed_tokens(const io::ModelFile& file, const LlamaConfig& cfg,
                  std::span<const int32_t> tokens, float* out) {
  const io::TensorInfo& t = file.tensor("token_embd.weight");
  const io::TypeInfo ti = io::type_info(t.type);
  if (!ti.can_dequantize) fail("tensor '{}': type {} cannot be dequantized", t.name, ti.name);
  const uint64_t row_bytes = uint64_t(cfg.dim / ti.block_elems) * ti.block_bytes;
  for (size_t r = 0; r < tokens.size(); ++r) {
    const int32_t id = tokens[r];
    if (id < 0 || id >= cfg.n_vocab) fail("{}: token id {} out of range [0, {})", file.path, id, cfg.n_vocab);
    float* row = out + int64_t(r) * cfg.dim;
    io::dequantize(t.type, t.data + uint64_t(id) * row_bytes, row, cfg.dim);
    // As io::dequantize_tensor refuses it when Model loads the whole matrix.
    for (int64_t c = 0; c < cfg.dim; ++c) {
      if (!std::isfinite(row[c])) {
        fail("tensor '{}': element {} is {} (a {} weight must be finite)", t.name,
             int64_t(id) * cfg.dim + c, std::isnan(row[c]) ? "NaN" : row[c] > 0 ? "+Inf" : "-Inf",
             ti.name);
      }
    }
  }
}

}  // namespace fptq::model
