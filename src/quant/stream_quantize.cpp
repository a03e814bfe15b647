#include "quant/stream_quantize.h"

#include <sys/stat.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <functional>
#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "core/atomic_file.h"
#include "core/sha256.h"
#include "core/timer.h"
#include "io/gguf_writer.h"
#include "model/block_forward.h"
#include "model/quant_spec.h"
#include "quant/convert_tensor.h"
#include "quant/fold_model.h"

namespace fptq::quant {
namespace {

namespace fs = std::filesystem;
using model::MatmulInput;

// ---- run identity -------------------------------------------------------

// Size and modification time of a regular file at `path` ("" otherwise).
std::string file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  return fmt::format("size {} mtime {}.{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

// The input's identity: its path, the stamp of the file (or of the
// *.safetensors and *.json files of a Hugging Face folder: a changed shard
// must not resume into a mix of old and new weights), its tensor layout,
// its metadata and the SHA-256 of every tensor's bytes (content rewritten
// in place with the modification time restored must not resume into the
// old model's output). The tensors are hashed in parallel; their pages are
// released after hashing when the run streams with a bounded resident set.
void hash_input(Sha256& h, const io::ModelFile& src, ThreadPool& pool, bool release_pages) {
  h.update("input\n");
  h.update(src.path + "\n");
  h.update(file_stamp(src.path) + "\n");
  std::error_code ec;
  if (fs::is_directory(src.path, ec)) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(src.path, ec)) {
      const std::string ext = e.path().extension().string();
      if (ext == ".safetensors" || ext == ".json") names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& n : names)
      h.update(fmt::format("file {} {}\n", n, file_stamp((fs::path(src.path) / n).string())));
  }
  const size_t n = src.tensors.size();
  std::vector<std::string> digests(n);
  // Tasks of at most 64 MiB, so both threads share a model of few tensors.
  struct Piece {
    size_t tensor;
    uint64_t begin, end;
  };
  std::vector<Piece> pieces;
  constexpr uint64_t kPiece = uint64_t(64) << 20;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t bytes = src.tensors[i].nbytes;
    for (uint64_t b = 0; b == 0 || b < bytes; b += kPiece)
      pieces.push_back({i, b, std::min(bytes, b + kPiece)});
  }
  std::vector<std::string> piece_digests(pieces.size());
  pool.parallel_for(int64_t(pieces.size()), [&](int64_t k, int) {
    const Piece& p = pieces[size_t(k)];
    const io::TensorInfo& t = src.tensors[p.tensor];
    Sha256 th;
    th.update(t.data + p.begin, size_t(p.end - p.begin));
    piece_digests[size_t(k)] = th.hex_digest();
    if (release_pages) release_mapped_pages(t.data + p.begin, p.end - p.begin);
  });
  for (size_t k = 0; k < pieces.size(); ++k) digests[pieces[k].tensor] += piece_digests[k];
  for (size_t i = 0; i < n; ++i) {
    const io::TensorInfo& t = src.tensors[i];
    h.update(fmt::format("{} {} {} {}", t.name, uint32_t(t.type), t.offset, t.nbytes));
    for (int64_t d : t.ne) h.update(fmt::format(" {}", d));
    h.update(" " + digests[i] + "\n");
  }
  h.update(fmt::format("metadata {}\n", src.metadata.items().size()));
  for (const auto& [key, v] : src.metadata.items()) {
    h.update(fmt::format("{} {} {} {}", key, uint32_t(v.type), uint32_t(v.elem_type), v.size()));
    for (int64_t x : v.ints) h.update(fmt::format(" {}", x));
    for (double x : v.floats) h.update(fmt::format(" {}", x));
    for (const std::string& s : v.strings) h.update(fmt::format(" {}:{}", s.size(), s));
    h.update("\n");
  }
}

void hash_data(Sha256& h, const CalibData& d) {
  const CalibProvenance& p = d.provenance;
  h.update(fmt::format("calib {}|{}|{}|{}|{}\n", p.source, p.samples, p.seqlen, p.seed,
                       p.text_digest));
  for (const auto& s : d.sequences) {
    h.update(fmt::format("seq {}\n", s.size()));
    h.update(s.data(), s.size() * sizeof(int32_t));
  }
}

std::string options_text(const QuantizeOptions& o) {
  std::string s = fmt::format("scheme {} v0 {} v1 {} group {} rule {} damp {} block {} order {} "
                              "alpha {} top {}",
                              scheme_name(o.scheme), o.policy.v0, o.policy.v1, o.int4.group,
                              scale_rule_name(o.int4.rule), o.gptq.damp, o.gptq.block,
                              o.gptq.act_order, o.smooth_alpha, o.top_channels);
  for (const auto& ov : o.policy.overrides)
    s += fmt::format(" act-mode {}={}", ov.pattern, act_mode_name(ov.mode));
  for (const auto& k : o.keep_fp) s += fmt::format(" keep-fp {}", k);
  for (const auto& k : o.keep_q8) s += fmt::format(" keep-q8 {}", k);
  for (const auto& [p, d] : o.static_scales) s += fmt::format(" scale {}={}", p, d);
  if (o.act_clip > 0) s += fmt::format(" act-clip {}", o.act_clip);
  if (o.isolate_outliers) s += " isolate-outliers";
  if (o.int4.grid != Int4Grid::Uniform) s += fmt::format(" grid {}", int4_grid_name(o.int4.grid));
  if (o.lae_dynamic) s += " lae-dynamic";
  if (o.act_group > 0) s += " act-group " + std::to_string(o.act_group);
  if (o.awq) s += " awq";
  s += fmt::format(" embd {} output {}", o.embd_type ? int(*o.embd_type) : -1,
                   o.output_type ? int(*o.output_type) : -1);
  return s;
}

// ---- observers ----------------------------------------------------------

class BlockStatsObserver : public model::Observer {
 public:
  BlockStatsObserver(const model::LlamaConfig& c) {
    for (int k = 0; k < model::kBlockPoints; ++k) stats[size_t(k)] = ChannelStats(point_channels(c, model::kBlockInputs[k]));
  }
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    stats[size_t(model::block_point_index(p.kind))].observe(
        std::span<const float>(x, size_t(rows * cols)));
  }
  std::array<ChannelStats, model::kBlockPoints> stats;
};

class BlockHessianObserver : public model::Observer {
 public:
  BlockHessianObserver(const model::LlamaConfig& c, int64_t layer,
                       const std::vector<std::string>& points, ThreadPool* pool)
      : pool_(pool) {
    for (const std::string& name : points)
      for (int k = 0; k < model::kBlockPoints; ++k)
        if (model::observation_point_name(layer, model::kBlockInputs[k]) == name && !slots[size_t(k)])
          slots[size_t(k)] = std::make_unique<HessianAccumulator>(point_channels(c, model::kBlockInputs[k]));
  }
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    auto& s = slots[size_t(model::block_point_index(p.kind))];
    if (s) s->add(std::span<const float>(x, size_t(rows * cols)), pool_);
  }
  ThreadPool* pool_;
  std::array<std::unique_ptr<HessianAccumulator>, model::kBlockPoints> slots;
};

// Every block allocates and frees the same large buffers (weights, packed
// matrices, activations) in slightly different sizes; glibc's heap then
// fragments and the resident set grows with the number of blocks (measured:
// 73 -> 125 MB calibrating 2 -> 8 blocks of width 768). Allocations of 1 MiB
// and more are served by mmap and returned to the system when freed, which
// keeps the run at one block (60 -> 60 MB).
void bound_heap_growth() {
#if defined(__GLIBC__)
  static const bool once = [] { return mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1; }();
  (void)once;
#endif
}

// ---- the run ------------------------------------------------------------

class Run {
 public:
  Run(std::shared_ptr<const io::ModelFile> src, const std::string& out_path, ThreadPool& pool,
      const StreamOptions& so, const std::function<std::string()>& make_key)
      : src_(std::move(src)),
        cfg_(model::read_config(*src_)),
        pool_(pool),
        so_(so),
        dir_(so.work_dir.empty() ? fs::path(out_path + ".fptq-partial") : fs::path(so.work_dir)) {
    bound_heap_growth();
    // Locked before the key is computed: the key hashes the whole input, and
    // a second run on this folder must fail at once, not after that.
    dir_.lock();
    try {
      start(make_key());
    } catch (...) {
      if (dir_.created()) dir_.remove();  // a folder this run made holds nothing to keep
      throw;
    }
  }

  // Resumes the saved state when it is this run's (same key), or starts afresh.
  void start(std::string key) {
    if (so_.resume && dir_.has_state()) {
      st_ = dir_.load(*src_, cfg_.n_layer);
      if (st_.key != key)
        fail("--resume: the saved state in '{}' is from another input, options or calibration "
             "data; remove it or run without --resume",
             dir_.path().string());
      note(fmt::format("resuming from '{}': {} phase, block {}/{}", dir_.path().string(),
                       st_.phase, st_.next_block, cfg_.n_layer));
      resumed_ = true;
    } else {
      if (so_.resume) note(fmt::format("--resume: no saved state in '{}': starting from the beginning",
                                       dir_.path().string()));
      else if (dir_.has_state())
        note(fmt::format("discarding the saved state in '{}' (pass --resume to continue it)",
                         dir_.path().string()));
      dir_.create_fresh();
      st_.key = std::move(key);
    }
  }

  const model::LlamaConfig& cfg() const { return cfg_; }
  StreamState& st() { return st_; }
  const WorkDir& dir() const { return dir_; }
  ThreadPool& pool() { return pool_; }
  const io::ModelFile& src() const { return *src_; }
  std::shared_ptr<const io::ModelFile> src_ptr() const { return src_; }
  double seconds() const { return timer_.elapsed(); }
  bool anything_saved() const { return resumed_ || commits_ > 0; }

  void note(const std::string& s) const {
    if (so_.note) so_.note(s);
  }
  void progress(const StreamProgress& p) const {
    if (so_.progress) so_.progress(p);
  }
  std::string resume_hint() const {
    return fmt::format("interrupted: the finished blocks are saved in '{}'; run the same command "
                       "with --resume to continue",
                       dir_.path().string());
  }
  void check_stop() const {
    if (stop_requested()) throw Interrupted(resume_hint());
  }
  void commit() {
    dir_.save(st_);
    ++commits_;
    if (so_.stop_after_commits > 0 && commits_ >= so_.stop_after_commits) throw Interrupted(resume_hint());
    check_stop();
  }
  void release_block(int64_t layer) const {
    if (!so_.release_input_pages) return;
    for (const io::TensorInfo& t : src_->tensors) {
      if (t.name.rfind(fmt::format("blk.{}.", layer), 0) == 0) release_mapped_pages(t.data, t.nbytes);
    }
  }
  void release_tensor(const io::TensorInfo& t) const {
    if (so_.release_input_pages) release_mapped_pages(t.data, t.nbytes);
  }

  // Runs the hidden states entering block `l` (embeddings for l = 0, else
  // hidden-<l>.bin) through it with `obs`, and writes those entering l+1 to
  // hidden-<l+1>.bin.tmp (not for the last block). after_sample(i) runs
  // after each sequence.
  void run_block(const CalibData& data, int64_t l, model::Observer& obs, const std::string& stage,
                 double& tokens, Timer& stage_timer, double start_fraction,
                 const std::function<void(int64_t)>& after_sample) {
    const model::BlockModel bm(src_, cfg_, l, pool_);
    const bool last = l + 1 == cfg_.n_layer;
    std::optional<RawFile> in, out;
    if (l > 0) in.emplace(dir_.file(WorkDir::hidden_name(l)), RawFile::Mode::read);
    if (!last) out.emplace(dir_.file(WorkDir::hidden_name(l + 1) + ".tmp"), RawFile::Mode::write_truncate);
    std::vector<float> x;
    uint64_t off = 0;
    const int64_t n = int64_t(data.sequences.size());
    for (int64_t i = 0; i < n; ++i) {
      check_stop();
      const auto& seq = data.sequences[size_t(i)];
      x.resize(seq.size() * size_t(cfg_.dim));
      const uint64_t bytes = uint64_t(x.size()) * sizeof(float);
      if (l == 0)
        model::embed_tokens(*src_, cfg_, seq, x.data());
      else
        in->read_at(off, x.data(), bytes);
      bm.run(x, pool_, &obs);
      if (after_sample) after_sample(i);
      if (out) out->write(x.data(), bytes);
      off += bytes;
      tokens += double(seq.size());
      StreamProgress p;
      p.stage = stage;
      p.layer = l;
      p.n_layer = cfg_.n_layer;
      p.done = i + 1;
      p.total = n;
      p.unit = "samples";
      p.work = tokens;
      p.work_unit = "tokens";
      p.fraction = (double(l) + double(i + 1) / double(n)) / double(cfg_.n_layer);
      p.start_fraction = start_fraction;
      p.stage_seconds = stage_timer.elapsed();
      p.seconds = seconds();
      progress(p);
    }
    if (out) out->close();
  }

  // After a block's commit: hidden-<l+1>.bin.tmp -> hidden-<l+1>.bin happens
  // before the commit (finish_hidden), the old states go after it.
  void finish_hidden(int64_t l) const {
    if (l + 1 >= cfg_.n_layer) return;
    const fs::path tmp = dir_.file(WorkDir::hidden_name(l + 1) + ".tmp");
    std::error_code ec;
    fs::rename(tmp, dir_.file(WorkDir::hidden_name(l + 1)), ec);
    if (ec) fail("{}: rename failed: {}", tmp.string(), ec.message());
  }
  void drop_hidden(int64_t l) const {
    std::error_code ec;
    fs::remove(dir_.file(WorkDir::hidden_name(l)), ec);
  }

 private:
  std::shared_ptr<const io::ModelFile> src_;
  model::LlamaConfig cfg_;
  ThreadPool& pool_;
  const StreamOptions& so_;
  WorkDir dir_;
  StreamState st_;
  Timer timer_;
  int64_t commits_ = 0;
  bool resumed_ = false;
};

// Calibration phase: blocks st.next_block .. L-1. Returns the statistics of
// every block (earlier blocks read back from stats-<l>.json).
CalibStatsSet calibration_phase(Run& r, const CalibData& data) {
  const model::LlamaConfig& c = r.cfg();
  StreamState& st = r.st();
  if (st.phase.empty()) st.phase = "calibrate";
  CalibStatsSet set;
  set.provenance = data.provenance;
  if (st.phase == "calibrate") {
    Timer stage_timer;
    double tokens = 0;
    const double start = double(st.next_block) / double(c.n_layer);
    for (int64_t l = st.next_block; l < c.n_layer; ++l) {
      BlockStatsObserver obs(c);
      r.run_block(data, l, obs, "calibrate", tokens, stage_timer, start, [&](int64_t sample) {
        for (int k = 0; k < model::kBlockPoints; ++k) {
          const ChannelStats& s = obs.stats[size_t(k)];
          if (s.nonfinite_count() > 0)
            fail("calibration: {} non-finite activations ({} NaN, {} Inf) at '{}' by sample {}: "
                 "the model overflows on this input",
                 s.nonfinite_count(), s.nan_count(), s.inf_count(),
                 model::observation_point_name(l, model::kBlockInputs[k]), sample);
        }
      });
      CalibStatsSet block;
      block.provenance = data.provenance;
      for (int k = 0; k < model::kBlockPoints; ++k)
        block.points.emplace(model::observation_point_name(l, model::kBlockInputs[k]), std::move(obs.stats[size_t(k)]));
      write_file_atomic(r.dir().file(WorkDir::stats_name(l)).string(), serialize_calib_stats(block));
      r.finish_hidden(l);
      st.next_block = l + 1;
      r.release_block(l);
      r.commit();
      r.drop_hidden(l);
    }
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    CalibStatsSet block = load_calib_stats(r.dir().file(WorkDir::stats_name(l)).string());
    for (auto& [name, s] : block.points) set.points.emplace(name, std::move(s));
  }
  check_stats_match(set, c, "streaming calibration (" + r.dir().path().string() + ")");
  return set;
}

void append_tensor(Run& r, RawFile& data, size_t index, TensorResult res, std::string gptq_note,
                   const std::vector<uint8_t>& bytes) {
  StreamState& st = r.st();
  data.write(bytes.data(), bytes.size());
  st.tensors.push_back(StreamTensor{
      index, std::move(res), std::move(gptq_note), st.data_bytes,
      sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))});
  st.data_bytes += bytes.size();
}

void assemble(Run& r, const QuantPlan& plan, const std::string& out_path) {
  const io::ModelFile& src = r.src();
  StreamState& st = r.st();
  std::vector<const StreamTensor*> by_index(src.tensors.size(), nullptr);
  for (const StreamTensor& t : st.tensors) {
    FPTQ_CHECK(t.index < by_index.size() && !by_index[t.index]);
    by_index[t.index] = &t;
  }
  const io::Metadata md = output_metadata(src, plan);
  io::GgufWriter writer(src.format == "gguf" ? src.alignment : 32);
  for (const auto& [key, value] : md.items()) writer.add(key, value);
  for (size_t i = 0; i < src.tensors.size(); ++i) {
    if (!by_index[i])
      fail("{}: tensor '{}' is missing from the saved state: remove the folder and run without "
           "--resume",
           r.dir().path().string(), src.tensors[i].name);
    writer.add_tensor_info(src.tensors[i].name, by_index[i]->result.type, src.tensors[i].ne,
                           by_index[i]->result.bytes);
  }
  std::vector<uint64_t> offsets;
  const std::vector<uint8_t> header = writer.header_bytes(&offsets);
  const fs::path tmp = r.dir().file("output.gguf.tmp");
  {
    RawFile data(r.dir().file("data.bin"), RawFile::Mode::read);
    RawFile out(tmp, RawFile::Mode::write_truncate);
    out.write(header.data(), header.size());
    const std::vector<uint8_t> zeros(size_t(writer.alignment()), 0);
    uint64_t pos = 0;
    for (size_t i = 0; i < src.tensors.size(); ++i) {
      r.check_stop();
      out.write(zeros.data(), offsets[i] - pos);
      copy_range(data, by_index[i]->offset, by_index[i]->result.bytes, out);
      pos = offsets[i] + by_index[i]->result.bytes;
    }
    const uint64_t align = writer.alignment();
    out.write(zeros.data(), (align - pos % align) % align);
    out.sync();
    out.close();
  }
  std::error_code ec;
  try {
    require_replaceable(out_path);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, out_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("{}: cannot move the finished file into place: {}", out_path, ec.message());
  }
}

QuantizeReport quantization_phase(Run& r, const CalibStatsSet& stats, const CalibData* data,
                                  const QuantizeOptions& opts, const std::string& out_path) {
  const model::LlamaConfig& c = r.cfg();
  const io::ModelFile& src = r.src();
  StreamState& st = r.st();
  if (st.phase != "quantize") {
    st.phase = "quantize";
    st.next_block = 0;
    st.side_done = false;
    st.data_bytes = 0;
    st.tensors.clear();
    r.dir().save(st);
  }
  QuantizeReport rep;
  Timer plan_timer;
  PlanContext pc;
  pc.pool = &r.pool();
  pc.progress = [&](int64_t done, int64_t total) {
    StreamProgress p;
    p.stage = "plan";
    p.layer = done - 1;
    p.n_layer = c.n_layer;
    p.done = done;
    p.total = total;
    p.unit = "blocks";
    p.work = double(done);
    p.work_unit = "blocks";
    p.fraction = double(done) / double(total);
    p.stage_seconds = plan_timer.elapsed();
    p.seconds = r.seconds();
    r.progress(p);
  };
  rep.plan = plan_quantization(src, stats, opts, pc);
  const QuantPlan& plan = rep.plan;
  const SchemeTraits tr = scheme_traits(opts.scheme);
  rep.output_path = out_path;
  if (tr.gptq && (!data || data->sequences.empty()))
    fail("scheme '{}' uses GPTQ, which needs calibration sequences to collect Hessians "
         "(stats files hold none): give calibration options",
         scheme_name(opts.scheme));

  RawFile out_data(r.dir().file("data.bin"), RawFile::Mode::append);
  out_data.truncate(st.data_bytes);  // drop bytes written after the last commit

  const size_t n_t = plan.tensors.size();
  std::vector<size_t> side;
  std::vector<std::vector<size_t>> blocks(size_t(c.n_layer));
  for (size_t i = 0; i < n_t; ++i) {
    const TensorPlan& tp = plan.tensors[i];
    FPTQ_CHECK(tp.name == src.tensors[i].name);
    if (tp.role && tp.layer >= 0)
      blocks[size_t(tp.layer)].push_back(i);
    else
      side.push_back(i);
  }
  Timer stage_timer;
  const double start = st.side_done ? double(st.next_block) / double(c.n_layer) : 0.0;
  double weights_done = 0, hessian_tokens = 0;
  auto report = [&](int64_t layer, int64_t done, int64_t total, double fraction) {
    StreamProgress p;
    p.stage = "quantize";
    p.layer = layer;
    p.n_layer = c.n_layer;
    p.done = done;
    p.total = total;
    p.unit = "tensors";
    p.work = weights_done;
    p.work_unit = "weights";
    p.fraction = fraction;
    p.start_fraction = start;
    p.stage_seconds = stage_timer.elapsed();
    p.seconds = r.seconds();
    r.progress(p);
  };

  if (!st.side_done) {
    // One at a time: the embedding and the head are the largest tensors.
    Timer wt;
    for (size_t k = 0; k < side.size(); ++k) {
      r.check_stop();
      const size_t i = side[k];
      std::vector<uint8_t> bytes;
      std::string gnote;
      TensorResult res = convert_tensor(plan.tensors[i], src.tensors[i], opts, nullptr, bytes, gnote);
      weights_done += double(res.elements);
      append_tensor(r, out_data, i, std::move(res), std::move(gnote), bytes);
      r.release_tensor(src.tensors[i]);
      report(-1, int64_t(k + 1), int64_t(side.size()), 0.0);
    }
    st.side_done = true;
    st.seconds_weights += wt.elapsed();
    out_data.sync();  // the state may only name bytes that are on disk
    r.commit();
  }

  for (int64_t l = st.next_block; l < c.n_layer; ++l) {
    // GPTQ: this block's Hessians from the FP hidden states, folded.
    std::map<std::string, std::vector<double>> hessians;
    const std::vector<std::string> points = tr.gptq ? gptq_points(plan, l) : std::vector<std::string>{};
    std::map<std::string, std::vector<float>> folds;
    for (const PointPlan& p : plan.points)
      if (p.layer == l && !p.fold.empty()) folds.emplace(p.name, p.fold);
    if (tr.gptq) {
      Timer ht;
      BlockHessianObserver obs(c, l, points, &r.pool());
      r.run_block(*data, l, obs, "hessians", hessian_tokens, stage_timer, start, {});
      for (int k = 0; k < model::kBlockPoints; ++k) {
        if (!obs.slots[size_t(k)]) continue;
        const std::string name = model::observation_point_name(l, model::kBlockInputs[k]);
        std::vector<double> h = obs.slots[size_t(k)]->matrix();
        obs.slots[size_t(k)].reset();
        auto f = folds.find(name);
        if (f != folds.end()) h = fold_hessian(std::move(h), f->second);
        hessians.emplace(name, std::move(h));
      }
      st.seconds_hessians += ht.elapsed();
    }
    Timer wt;
    const auto folded = fold_model(r.src_ptr(), c, folds);
    const std::vector<size_t>& idx = blocks[size_t(l)];
    std::vector<std::vector<uint8_t>> bytes(idx.size());
    std::vector<TensorResult> res(idx.size());
    std::vector<std::string> gnotes(idx.size());
    std::atomic<int64_t> done{0};
    std::mutex mu;
    r.pool().parallel_for(int64_t(idx.size()), [&](int64_t j, int) {
      r.check_stop();
      const size_t i = idx[size_t(j)];
      const TensorPlan& tp = plan.tensors[i];
      const bool needs_h = tr.gptq && io::is_int4_type(tp.type) && !tp.point.empty();
      res[size_t(j)] = convert_tensor(tp, folded->tensors[i], opts,
                                      needs_h ? &hessians.at(tp.point) : nullptr, bytes[size_t(j)],
                                      gnotes[size_t(j)]);
      std::lock_guard<std::mutex> lock(mu);
      weights_done += double(res[size_t(j)].elements);
      const int64_t d = ++done;
      report(l, d, int64_t(idx.size()),
             (double(l) + double(d) / double(std::max<size_t>(idx.size(), 1))) / double(c.n_layer));
    });
    for (size_t j = 0; j < idx.size(); ++j) {
      append_tensor(r, out_data, idx[j], std::move(res[j]), std::move(gnotes[j]), bytes[j]);
      std::vector<uint8_t>().swap(bytes[j]);
    }
    st.seconds_weights += wt.elapsed();
    if (tr.gptq) r.finish_hidden(l);
    st.next_block = l + 1;
    r.release_block(l);
    out_data.sync();
    r.commit();
    if (tr.gptq) r.drop_hidden(l);
  }
  out_data.close();

  StreamProgress wp;
  wp.stage = "write";
  wp.n_layer = c.n_layer;
  wp.total = 1;
  wp.unit = "files";
  wp.seconds = r.seconds();
  r.progress(wp);
  assemble(r, plan, out_path);
  // The output is in place: drop the state before anything else can fail
  // (e.g. a progress line into a closed pipe).
  r.dir().remove();
  wp.done = 1;
  wp.fraction = 1;
  wp.seconds = r.seconds();
  r.progress(wp);

  rep.tensors.resize(n_t);
  std::vector<std::string> gnotes(n_t);
  for (const StreamTensor& t : st.tensors) {
    rep.tensors[t.index] = t.result;
    gnotes[t.index] = t.gptq_note;
  }
  for (const auto& n : gnotes)
    if (!n.empty()) rep.notes.push_back(n);
  rep.file_bytes = fs::file_size(out_path);
  for (const TensorResult& t : rep.tensors) {
    rep.total_params += t.elements;
    rep.tensor_bytes += t.bytes;
    if (t.linear) {
      rep.linear_params += t.elements;
      rep.linear_bytes += t.bytes;
    }
  }
  rep.seconds_hessians = st.seconds_hessians;
  rep.seconds_weights = st.seconds_weights;
  rep.seconds_total = r.seconds();
  return rep;
}

// Runs fn; keeps the work folder when interrupted (or when earlier progress
// is saved), removes it otherwise.
template <typename Fn>
auto guarded(Run& r, Fn fn) {
  try {
    return fn();
  } catch (const Interrupted&) {
    throw;
  } catch (...) {
    if (!r.anything_saved()) r.dir().remove();
    throw;
  }
}

}  // namespace

CalibStatsSet calibrate_streaming(std::shared_ptr<const io::ModelFile> src, const CalibData& data,
                                  const std::string& out_path, ThreadPool& pool,
                                  const StreamOptions& so) {
  if (data.sequences.empty()) fail("calibration: no calibration sequences");
  Run r(src, out_path, pool, so, [&] {
    Sha256 h;
    h.update("fptq-stream calibrate v1\n");
    hash_input(h, *src, pool, so.release_input_pages);
    hash_data(h, data);
    return h.hex_digest();
  });
  if (!r.st().phase.empty() && r.st().phase != "calibrate")
    fail("--resume: the saved state in '{}' is not a calibration", r.dir().path().string());
  CalibStatsSet set = guarded(r, [&] { return calibration_phase(r, data); });
  r.dir().remove();
  return set;
}

QuantizeReport quantize_streaming(std::shared_ptr<const io::ModelFile> src,
                                  const CalibStatsSet* stats, const CalibData* data,
                                  const QuantizeOptions& opts, const std::string& out_path,
                                  ThreadPool& pool, const StreamOptions& so,
                                  CalibStatsSet* stats_out) {
  check_output_path(*src, out_path);
  validate_options(opts);
  if (src->metadata.contains("fptq.format_version"))
    fail("{}: already quantized by fptq (it has fptq.* keys); quantize the original model",
         src->path);
  if (!stats && (!data || data->sequences.empty()))
    fail("quantize: no statistics and no calibration sequences");
  if (stats) check_stats_match(*stats, model::read_config(*src), "calibration stats");
  Run r(src, out_path, pool, so, [&] {
    Sha256 h;
    h.update("fptq-stream quantize v1\n");
    hash_input(h, *src, pool, so.release_input_pages);
    h.update(options_text(opts) + "\n");
    h.update("output " + out_path + "\n");
    if (stats) h.update("stats " + sha256_hex(serialize_calib_stats(*stats)) + "\n");
    if (data) hash_data(h, *data);
    return h.hex_digest();
  });
  QuantizeReport rep = guarded(r, [&] {
    CalibStatsSet own;
    if (!stats) {
      own = calibration_phase(r, *data);
      if (stats_out) *stats_out = own;
    }
    return quantization_phase(r, stats ? *stats : own, data, opts, out_path);
  });
  r.dir().remove();
  return rep;
}

}  // namespace fptq::quant
