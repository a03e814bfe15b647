#include "cli/calib_args.h"

#include <algorithm>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"

namespace fptq::cli {

void add_calib_options(CLI::App& cmd, CalibArgs& a) {
  cmd.add_option("--calib", a.calib,
                 "calibration source: one or more text files (joined, tokenized, cut into "
                 "windows drawn by the seed), or 'random' for data-free calibration with token "
                 "ids uniform over the vocabulary");
  cmd.add_option("--samples", a.samples,
                 "calibration sequences (clamped to the windows the text holds)")
      ->check(positive_integer())
      ->capture_default_str();
  cmd.add_option("--seqlen", a.seqlen,
                 "tokens per sequence (clamped to the text length and the model's context)")
      ->check(CLI::Range(int64_t(2), int64_t(1) << 30))
      ->capture_default_str();
  cmd.add_option("--seed", a.seed, "seed of the window draw / random tokens")->capture_default_str();
}

void add_stream_options(CLI::App& cmd, CalibArgs& a, const std::string& what) {
  cmd.add_option("--progress", a.progress,
                 "progress on stderr: text, or json (one object per line: stage, layer, done, "
                 "total, rate, elapsed_s, eta_s)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd.add_flag("--resume", a.resume,
               "continue an interrupted run from its last finished block (state kept in " + what +
                   ".fptq-partial/ next to the output); the result is byte-identical to an "
                   "uninterrupted run");
}

bool has_calib(const CalibArgs& a) { return !a.calib.empty(); }

quant::CalibOptions calib_options(const CalibArgs& a) {
  quant::CalibOptions o;
  o.samples = a.samples;
  o.seqlen = a.seqlen;
  o.seed = a.seed;
  const bool random = std::find(a.calib.begin(), a.calib.end(), "random") != a.calib.end();
  if (random && a.calib.size() > 1)
    fail("--calib random cannot be combined with text files");
  if (!random) o.text_files = a.calib;
  return o;
}

quant::CalibData make_calib_data_verbose(const tok::Tokenizer& tok, const model::LlamaConfig& cfg,
                                         const quant::CalibOptions& o) {
  quant::CalibData d = quant::make_calib_data(tok, cfg, o);
  for (const std::string& n : d.notes) fmt::print(stderr, "calibration: note: {}\n", n);
  fmt::print(stderr, "calibration: {} sequences × {} tokens from {}{}, seed {}\n",
             d.provenance.samples, d.provenance.seqlen, d.provenance.source,
             d.provenance.text_digest.empty() ? ""
                                              : " (sha256 " + d.provenance.text_digest.substr(0, 16) + "…)",
             d.provenance.seed);
  return d;
}

quant::CalibProgressFn calib_progress_printer(std::string label, bool quiet) {
  if (quiet) return {};
  auto last = std::make_shared<double>(-1.0);
  return [label, last](const quant::CalibProgress& p) {
    if (p.sample != p.n_samples && p.seconds - *last < 1.0) return;
    *last = p.seconds;
    const double rate = double(p.tokens) / std::max(p.seconds, 1e-9);
    const double eta = p.sample > 0 ? p.seconds * double(p.n_samples - p.sample) / double(p.sample)
                                    : 0.0;
    fmt::print(stderr, "{}: sample {}/{}  {:.0f} tokens/s  {:.1f} s elapsed, ETA {:.1f} s\n", label,
               p.sample, p.n_samples, rate, p.seconds, eta);
  };
}

}  // namespace fptq::cli
