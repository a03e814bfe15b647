#include "cli/stream_progress.h"

#include <csignal>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fptq::cli {
namespace {

struct sigaction g_old_int, g_old_term;

extern "C" void on_stop_signal(int) { quant::request_stop(); }

}  // namespace

void print_progress_json(const std::string& command, const std::string& stage, int64_t done,
                         int64_t total, const std::string& unit, double rate,
                         const std::string& rate_unit, double elapsed, double eta, double value) {
  const nlohmann::json j{{"command", command}, {"stage", stage},       {"done", done},
                         {"total", total},     {"unit", unit},         {"rate", rate},
                         {"rate_unit", rate_unit}, {"elapsed_s", elapsed},
                         {"eta_s", eta < 0 ? nlohmann::json(nullptr) : nlohmann::json(eta)},
                         {"value", value}};
  fmt::print(stderr, "{}\n", j.dump());
}

void check_progress_mode(const std::string& mode) {
  if (mode != "text" && mode != "json") fail("--progress '{}': expected text or json", mode);
}

quant::StreamProgressFn stream_progress_printer(const std::string& command, const std::string& mode,
                                                bool quiet) {
  if (quiet) return {};
  check_progress_mode(mode);
  struct Last {
    double at = -1;
    std::string stage;
  };
  auto last = std::make_shared<Last>();
  const bool json = mode == "json";
  return [command, json, last](const quant::StreamProgress& p) {
    const bool end = p.done == p.total || p.stage != last->stage;
    if (!end && p.seconds - last->at < 1.0) return;
    last->at = p.seconds;
    last->stage = p.stage;
    const double rate = p.stage_seconds > 0 ? p.work / p.stage_seconds : 0.0;
    const double gained = p.fraction - p.start_fraction;
    const double eta = gained > 0 ? p.stage_seconds * (1.0 - p.fraction) / gained : -1.0;
    if (json) {
      nlohmann::json j{{"command", command}, {"stage", p.stage},   {"layer", p.layer},
                       {"n_layer", p.n_layer}, {"done", p.done},   {"total", p.total},
                       {"unit", p.unit},       {"rate", rate},     {"rate_unit", p.work_unit + "/s"},
                       {"fraction", p.fraction}, {"elapsed_s", p.seconds},
                       {"eta_s", eta < 0 ? nlohmann::json(nullptr) : nlohmann::json(eta)}};
      fmt::print(stderr, "{}\n", j.dump());
      return;
    }
    if (p.stage == "write") {
      fmt::print(stderr, "{}: write {}  {:.1f} s elapsed\n", command,
                 p.done == p.total ? "done" : "assembling the output", p.seconds);
      return;
    }
    if (p.unit == "blocks") {  // planning: one line per block
      fmt::print(stderr, "{}: {} block {}/{}  {:.1f} s elapsed, ETA {}\n", command, p.stage, p.done,
                 p.total, p.seconds, eta < 0 ? std::string("?") : fmt::format("{:.1f} s", eta));
      return;
    }
    const std::string where = p.layer >= 0 ? fmt::format("block {}/{}", p.layer + 1, p.n_layer)
                                           : std::string("non-block tensors");
    const std::string singular = p.unit == "samples" ? "sample" : "tensor";
    fmt::print(stderr, "{}: {} {}  {} {}/{}  {:.4g} {}/s  {:.1f} s elapsed, ETA {}\n", command,
               p.stage, where, singular, p.done, p.total, rate, p.work_unit, p.seconds,
               eta < 0 ? std::string("?") : fmt::format("{:.1f} s", eta));
  };
}

StopOnSignal::StopOnSignal() {
  quant::clear_stop_request();
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second signal takes the default action
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int64_t stream_stop_after_from_env() {
  const char* v = std::getenv("FPTQ_STREAM_STOP_AFTER");
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n < 0) fail("FPTQ_STREAM_STOP_AFTER='{}': expected a count >= 0", v);
  return n;
}

}  // namespace fptq::cli
