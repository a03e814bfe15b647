// The `fptq` subcommands. Each add_*_command registers its options and a
// callback on `app`; callbacks throw fptq::Error for bad input, which main()
// turns into a one-line message and exit status 1.
#pragma once

#include <CLI/CLI.hpp>

namespace fptq::cli {

void add_info_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_perplexity_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_mmlu_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_sensitivity_command(CLI::App& app);

// Adds --threads (default: hardware threads) to `cmd`, storing into `*threads`.
void add_threads_option(CLI::App& cmd, int* threads);
// Option check: a positive integer, with a one-line message naming the value
// ("--samples: must be a positive integer, got '0'").
const CLI::Validator& positive_integer();
// Option check: an integer >= 0 ("--top-k: must be an integer >= 0, got '-1'").
const CLI::Validator& non_negative_integer();
// Checks every FLOAT option of `app` and its subcommands for a finite value,
// every UINT option for a plain integer in [0, 2^64 - 1] and every INT
// option for one in [-2^63, 2^63 - 1]; call once all options are added.
void add_number_checks(CLI::App& app);

// Contents of a text file; throws fptq::Error naming it when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace fptq::cli
