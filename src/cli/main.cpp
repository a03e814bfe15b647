// fptq: FPTQ W4A8 toolkit command line. The only place that prints usage or
// sets the exit status.
#include <charconv>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <new>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/signal_cleanup.h"
#include "core/thread_pool.h"

namespace fptq::cli {


void add_threads_option(CLI::App& cmd, int* threads) {
  *threads = ThreadPool::hardware_threads();
  cmd.add_option("-t,--threads", *threads, "worker threads (results do not depend on it)")
      ->check(positive_integer())
      ->capture_default_str();
}

std::string read_text_file(const std::string& path) {
  return read_text_input(path, "text file");
}

}  // namespace fptq::cli

int main(int argc, char** argv) {
  // A write past the file-size limit (ulimit -f) must fail with EFBIG and be
  // reported like a full disk, not kill the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // Temporary files and folders go with the process on Ctrl-C / SIGTERM, and
  // a mapped input truncated under us (SIGBUS) ends in one clear line.
  fptq::install_signal_cleanup();
  CLI::App app{
      "fptq: FPTQ W4A8 post-training quantization of LLaMA-family models, and a CPU engine "
      "to run them.\nMODEL is a GGUF file or a Hugging Face model directory."};
  app.require_subcommand(1);
  fptq::cli::add_info_command(app);
  fptq::cli::add_generate_command(app);
  fptq::cli::add_perplexity_command(app);
  fptq::cli::add_tokenize_command(app);
  fptq::cli::add_calibrate_command(app);
  fptq::cli::add_quantize_command(app);
  fptq::cli::add_mmlu_command(app);
  fptq::cli::add_compare_command(app);
  fptq::cli::add_bench_command(app);
  fptq::cli::add_report_command(app);
  fptq::cli::add_sensitivity_command(app);
  fptq::cli::add_number_checks(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fptq::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "fptq: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    fmt::print(stderr, "fptq: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "fptq: error: {}\n", e.what());
    return 1;
  }
  // Results printed to a full disk, a closed pipe or /dev/full are lost:
  // say so and fail instead of exiting 0.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    fmt::print(stderr, "fptq: error: writing the results to standard output failed: {}\n",
               std::strerror(errno));
    return 1;
  }
  return 0;
}
