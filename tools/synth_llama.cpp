// fptq-synth-llama: writes a LLaMA-shaped GGUF with random F16 weights,
// streaming to disk (memory: one chunk of one tensor), for scale tests of
// the streaming quantizer. Deterministic: the same shape and seed give the
// same bytes. Shapes: --preset 7b (Llama-2-7B: 32 layers, 4096 hidden,
// 11008 FFN, 32 heads, vocab 32000), 1b (16 layers, 2048 hidden, 5632 FFN,
// 32 heads, 4 KV heads), tiny (2 layers, 256 hidden, 704 FFN, 8 heads,
// vocab 512); --layers/--dim/... override any of them.
//
// Weights: uniform in ±sqrt(3)·σ with σ = 1/sqrt(K) for matrices (unit-
// variance outputs) and σ = 0.02 for the embedding, norms 1 (F32). The
// vocabulary is a synthetic SentencePiece one (tokenizer.ggml.model
// "llama"): <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, then
// pieces "▁" + a base-26 letter string, with scores decreasing by id.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"
#include "io/gguf_writer.h"

namespace {

using fptq::fail;
using fptq::io::GgmlType;
using fptq::io::Value;
using fptq::io::ValueType;

struct Shape {
  int64_t layers = 2, dim = 256, ffn = 704, heads = 8, kv_heads = 8, vocab = 512, ctx = 2048;
};

Shape preset(const std::string& name) {
  Shape s;
  if (name == "7b") {
    s = {32, 4096, 11008, 32, 32, 32000, 4096};
  } else if (name == "1b") {
    s = {16, 2048, 5632, 32, 4, 32000, 2048};
  } else if (name != "tiny") {
    fail("--preset '{}': expected 7b, 1b or tiny", name);
  }
  return s;
}

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct TensorDef {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;  // innermost first
  float sigma = 0;          // 0: constant 1 (norms)
  uint64_t elements() const {
    uint64_t n = 1;
    for (int64_t d : ne) n *= uint64_t(d);
    return n;
  }
  uint64_t bytes() const { return elements() * (type == GgmlType::F16 ? 2 : 4); }
};

class Out {
 public:
  explicit Out(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) fail("{}: cannot create: {}", path, std::strerror(errno));
  }
  ~Out() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    while (n > 0) {
      const ssize_t w = ::write(fd_, b, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("{}: write failed: {}", path_, std::strerror(errno));
      }
      b += w;
      n -= size_t(w);
    }
  }
  void finish() {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) fail("{}: close failed: {}", path_, std::strerror(errno));
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void add_vocab(fptq::io::GgufWriter& w, int64_t n) {
  if (n < 259 + 1) fail("--vocab {}: need at least 260 tokens (3 special + 256 bytes + 1)", n);
  std::vector<std::string> tokens;
  std::vector<double> scores;
  std::vector<int64_t> types;
  tokens = {"<unk>", "<s>", "</s>"};
  types = {2, 3, 3};
  scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
    scores.push_back(0);
  }
  for (int64_t i = 0; int64_t(tokens.size()) < n; ++i) {
    std::string piece;
    int64_t v = i;
    do {
      piece.insert(piece.begin(), char('a' + v % 26));
      v = v / 26 - 1;
    } while (v >= 0);
    tokens.push_back("\xe2\x96\x81" + piece);  // "▁" + letters
    types.push_back(1);
    scores.push_back(-double(i));
  }
  w.add("tokenizer.ggml.model", Value::make_string("llama"));
  w.add("tokenizer.ggml.tokens", Value::make_string_array(std::move(tokens)));
  w.add("tokenizer.ggml.scores", Value::make_float_array(ValueType::F32, std::move(scores)));
  w.add("tokenizer.ggml.token_type", Value::make_int_array(ValueType::I32, std::move(types)));
  w.add("tokenizer.ggml.unknown_token_id", Value::make_int(ValueType::U32, 0));
  w.add("tokenizer.ggml.bos_token_id", Value::make_int(ValueType::U32, 1));
  w.add("tokenizer.ggml.eos_token_id", Value::make_int(ValueType::U32, 2));
  w.add("tokenizer.ggml.add_bos_token", Value::make_bool(true));
}

void write_model(const Shape& s, uint64_t seed, const std::string& path, const std::string& tmp);

// Writes `path` via `path`.tmp, renamed into place when complete; on any
// error the temporary is removed and `path` is untouched.
void run(const Shape& s, uint64_t seed, const std::string& path) {
  // The head size must be even (RoPE rotates pairs; fptq refuses an odd
  // rope.dimension_count), the context positive.
  if (s.layers < 1 || s.dim < 32 || s.ffn < 32 || s.heads < 1 || s.kv_heads < 1 ||
      s.dim % s.heads != 0 || s.heads % s.kv_heads != 0 || s.dim % 32 != 0 || s.ffn % 32 != 0 ||
      (s.dim / s.heads) % 2 != 0 || s.ctx < 1)
    fail("bad shape: layers {} dim {} ffn {} heads {} kv_heads {} ctx {} (dim and ffn multiples "
         "of 32, heads | dim with an even head size, kv_heads | heads, ctx >= 1)",
         s.layers, s.dim, s.ffn, s.heads, s.kv_heads, s.ctx);
  const std::string tmp = path + ".tmp";
  try {
    write_model(s, seed, path, tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void write_model(const Shape& s, uint64_t seed, const std::string& path, const std::string& tmp) {
  const int64_t head_dim = s.dim / s.heads, kv_dim = s.kv_heads * head_dim;
  fptq::io::GgufWriter w(32);
  w.add("general.architecture", Value::make_string("llama"));
  w.add("general.name", Value::make_string(fmt::format("synthetic-llama-{}L-{}d-seed{}", s.layers, s.dim, seed)));
  w.add("general.file_type", Value::make_int(ValueType::U32, 1));  // mostly F16
  w.add("llama.block_count", Value::make_int(ValueType::U32, s.layers));
  w.add("llama.context_length", Value::make_int(ValueType::U32, s.ctx));
  w.add("llama.embedding_length", Value::make_int(ValueType::U32, s.dim));
  w.add("llama.feed_forward_length", Value::make_int(ValueType::U32, s.ffn));
  w.add("llama.attention.head_count", Value::make_int(ValueType::U32, s.heads));
  w.add("llama.attention.head_count_kv", Value::make_int(ValueType::U32, s.kv_heads));
  w.add("llama.rope.dimension_count", Value::make_int(ValueType::U32, head_dim));
  w.add("llama.rope.freq_base", Value::make_float(ValueType::F32, 10000.0));
  w.add("llama.attention.layer_norm_rms_epsilon", Value::make_float(ValueType::F32, 1e-5));
  add_vocab(w, s.vocab);

  std::vector<TensorDef> defs;
  const float s_dim = float(1.0 / std::sqrt(double(s.dim)));
  defs.push_back({"token_embd.weight", GgmlType::F16, {s.dim, s.vocab}, 0.02f});
  for (int64_t l = 0; l < s.layers; ++l) {
    auto b = [&](const char* n) { return fmt::format("blk.{}.{}.weight", l, n); };
    defs.push_back({b("attn_norm"), GgmlType::F32, {s.dim}, 0});
    defs.push_back({b("attn_q"), GgmlType::F16, {s.dim, s.dim}, s_dim});
    defs.push_back({b("attn_k"), GgmlType::F16, {s.dim, kv_dim}, s_dim});
    defs.push_back({b("attn_v"), GgmlType::F16, {s.dim, kv_dim}, s_dim});
    defs.push_back({b("attn_output"), GgmlType::F16, {s.dim, s.dim}, s_dim});
    defs.push_back({b("ffn_norm"), GgmlType::F32, {s.dim}, 0});
    defs.push_back({b("ffn_gate"), GgmlType::F16, {s.dim, s.ffn}, s_dim});
    defs.push_back({b("ffn_up"), GgmlType::F16, {s.dim, s.ffn}, s_dim});
    defs.push_back({b("ffn_down"), GgmlType::F16, {s.ffn, s.dim}, float(1.0 / std::sqrt(double(s.ffn)))});
  }
  defs.push_back({"output_norm.weight", GgmlType::F32, {s.dim}, 0});
  defs.push_back({"output.weight", GgmlType::F16, {s.dim, s.vocab}, s_dim});
  for (const TensorDef& d : defs) w.add_tensor_info(d.name, d.type, d.ne, d.bytes());

  std::vector<uint64_t> offsets;
  const std::vector<uint8_t> header = w.header_bytes(&offsets);
  Out out(tmp);
  out.write(header.data(), header.size());
  const std::vector<uint8_t> zeros(32, 0);
  uint64_t pos = 0;
  std::vector<uint8_t> buf;
  constexpr uint64_t kChunk = uint64_t(1) << 22;  // elements per write
  for (size_t i = 0; i < defs.size(); ++i) {
    const TensorDef& d = defs[i];
    out.write(zeros.data(), size_t(offsets[i] - pos));
    uint64_t state = seed ^ name_hash(d.name);
    const double a = std::sqrt(3.0) * double(d.sigma);
    for (uint64_t at = 0; at < d.elements(); at += kChunk) {
      const uint64_t n = std::min(kChunk, d.elements() - at);
      buf.resize(size_t(n * (d.type == GgmlType::F16 ? 2 : 4)));
      for (uint64_t j = 0; j < n; ++j) {
        float v = 1.0f;
        if (d.sigma > 0) {
          const double u = double(splitmix(state) >> 11) * 0x1.0p-53;  // [0, 1)
          v = float((2.0 * u - 1.0) * a);
        }
        if (d.type == GgmlType::F16) {
          const uint16_t h = fptq::f32_to_fp16(v);
          std::memcpy(buf.data() + 2 * j, &h, 2);
        } else {
          std::memcpy(buf.data() + 4 * j, &v, 4);
        }
      }
      out.write(buf.data(), buf.size());
    }
    pos = offsets[i] + d.bytes();
  }
  out.write(zeros.data(), size_t((32 - pos % 32) % 32));
  out.finish();
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail("{}: rename failed: {}", path, std::strerror(errno));
  uint64_t params = 0;
  for (const TensorDef& d : defs) params += d.elements();
  fmt::print("{}: {} layers, dim {}, ffn {}, {} heads ({} KV), vocab {}: {} parameters, {} bytes\n",
             path, s.layers, s.dim, s.ffn, s.heads, s.kv_heads, s.vocab, params,
             header.size() + pos + (32 - pos % 32) % 32);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Write a LLaMA-shaped GGUF with random F16 weights (streaming, deterministic by seed)"};
  std::string out, preset_name = "tiny";
  uint64_t seed = 0;
  Shape o{-1, -1, -1, -1, -1, -1, -1};
  app.add_option("-o,--output", out, "GGUF file to write")->required();
  app.add_option("--preset", preset_name, "7b, 1b or tiny")->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--layers", o.layers, "blocks");
  app.add_option("--dim", o.dim, "hidden size");
  app.add_option("--ffn", o.ffn, "FFN size");
  app.add_option("--heads", o.heads, "attention heads");
  app.add_option("--kv-heads", o.kv_heads, "KV heads");
  app.add_option("--vocab", o.vocab, "vocabulary size");
  app.add_option("--ctx", o.ctx, "context length");
  // A file size limit (ulimit -f) or full disk is a write error that removes
  // the temporary, not a kill that leaves it behind.
  ::signal(SIGXFSZ, SIG_IGN);
  try {
    app.parse(argc, argv);
    Shape s = preset(preset_name);
    // An option given on the command line wins, whatever its value (a bad
    // one is refused by run(), not mistaken for "not given").
    for (auto [dst, src, name] :
         {std::tuple{&s.layers, o.layers, "--layers"}, {&s.dim, o.dim, "--dim"},
          {&s.ffn, o.ffn, "--ffn"}, {&s.heads, o.heads, "--heads"},
          {&s.kv_heads, o.kv_heads, "--kv-heads"}, {&s.vocab, o.vocab, "--vocab"},
          {&s.ctx, o.ctx, "--ctx"}})
      if (app.count(name) > 0) *dst = src;
    if (app.count("--heads") > 0 && app.count("--kv-heads") == 0) s.kv_heads = s.heads;
    run(s, seed, out);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "fptq-synth-llama: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
