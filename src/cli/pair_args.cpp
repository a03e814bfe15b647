#include "cli/pair_args.h"
#include "cli/commands.h"

#include <unistd.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/timer.h"
#include "io/model_file.h"
#include "model/model.h"
#include "quant/calibrate.h"
#include "quant/quantize_model.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {

void add_pair_quantize_options(CLI::App& cmd, PairArgs& a) {
  cmd.add_option("--stats", a.stats,
                 "calibration statistics (from `fptq calibrate`): per-channel maxima over the "
                 "whole calibration set; without a quantized model, quantize from them");
  add_calib_options(cmd, a.calib);
  cmd.add_option("--scheme", a.scheme, "scheme when quantizing here")->capture_default_str();
  cmd.add_option("--group-size", a.group, "int4 group when quantizing here")->capture_default_str()
      ->check(non_negative_integer());
}

LoadedPair::~LoadedPair() {
  std::error_code ec;
  if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir, ec);
}

std::unique_ptr<LoadedPair> load_pair(const PairArgs& a, ThreadPool& pool, const char* command) {
  auto out = std::make_unique<LoadedPair>();
  const auto fp = io::open_model(a.model);
  const model::LlamaConfig cfg = model::read_config(*fp);
  if (!a.stats.empty()) {
    out->stats = quant::load_calib_stats(a.stats);
    quant::check_stats_match(*out->stats, cfg, a.stats);
  }
  if (a.quantized.empty()) {
    if (!out->stats && !has_calib(a.calib))
      fail("{}: give the quantized model, --stats FILE or calibration options (--calib FILE... | "
           "--calib random)",
           command);
    quant::QuantizeOptions qo;
    qo.scheme = quant::parse_scheme(a.scheme);
    qo.int4.group = a.group;
    qo.keep_fp = a.keep_fp;
    quant::validate_options(qo);
    quant::CalibData data;
    const bool gptq = quant::scheme_traits(qo.scheme).gptq;
    if (!out->stats || gptq) {
      const auto tok = tok::Tokenizer::from_metadata(fp->metadata, fp->path);
      data = make_calib_data_verbose(*tok, cfg,
                                     has_calib(a.calib)
                                         ? calib_options(a.calib)
                                         : quant::calib_options_from_provenance(out->stats->provenance));
    }
    if (!out->stats) {
      const model::Model m(fp, pool, model::LoadOptions{model::RunMode::emulate});
      out->stats = quant::calibrate(m, data, pool, calib_progress_printer("calibrate", a.calib.quiet));
    }
    out->temp_dir = std::filesystem::temp_directory_path() /
                    fmt::format("fptq-{}-{}-{}", command, ::getpid(), uint64_t(now_seconds() * 1e6));
    std::filesystem::create_directories(out->temp_dir);
    out->temp_dir_on_signal = SignalCleanup(out->temp_dir.string(), true);
    out->q_path = (out->temp_dir / ("quantized." + a.scheme + ".gguf")).string();
    fmt::print(stderr, "{}: quantizing with {} into a temporary file\n", command, a.scheme);
    quant::quantize_model(fp, *out->stats, qo, out->q_path, pool, {}, gptq ? &data : nullptr);
  } else {
    out->q_path = a.quantized;
  }
  out->pair = report::open_quantized_pair(fp, io::open_model(out->q_path));
  return out;
}

}  // namespace fptq::cli
