// Checks on option values shared by every command: every FLOAT option must be
// a finite number, every UINT option a plain non-negative integer that fits
// 64 bits (CLI11 would take "-1" as 2^64 - 1 and 2^64 as its maximum), every
// INT option a plain integer that fits 64 bits (CLI11 would saturate 2^63),
// and
// the integer checks the commands attach to single options.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include "cli/commands.h"

namespace fptq::cli {
namespace {

const CLI::Validator& finite_number() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        double x = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (ec == std::errc::result_out_of_range) return "out of range, got '" + s + "'";
        if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(x))
          return "must be a finite number, got '" + s + "'";
        return "";
      },
      "");
  return v;
}

const CLI::Validator& unsigned_integer() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        uint64_t x = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (s.empty() || s[0] == '-' || s[0] == '+' || ec != std::errc() ||
            end != s.data() + s.size())
          return "must be an integer in [0, 2^64 - 1], got '" + s + "'";
        return "";
      },
      "");
  return v;
}

const CLI::Validator& signed_integer() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        int64_t x = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size())
          return "must be an integer in [-2^63, 2^63 - 1], got '" + s + "'";
        return "";
      },
      "");
  return v;
}

void add_checks(CLI::App& app) {
  for (CLI::Option* o : app.get_options()) {
    const std::string t = o->get_type_name();
    if (t.rfind("FLOAT", 0) == 0) o->check(finite_number());
    if (t.rfind("UINT", 0) == 0) o->check(unsigned_integer());
    if (t.rfind("INT", 0) == 0) o->check(signed_integer());
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) add_checks(*sub);
}

CLI::Validator integer_at_least(long long lo, const char* name, const char* what) {
  return CLI::Validator(
      [lo, what](std::string& s) -> std::string {
        long long x = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (ec != std::errc() || end != s.data() + s.size() || x < lo)
          return std::string("must be ") + what + ", got '" + s + "'";
        return "";
      },
      name);
}

}  // namespace

const CLI::Validator& positive_integer() {
  static const CLI::Validator v = integer_at_least(1, "POSITIVE", "a positive integer");
  return v;
}

const CLI::Validator& non_negative_integer() {
  static const CLI::Validator v = integer_at_least(0, "NONNEGATIVE", "an integer >= 0");
  return v;
}

void add_number_checks(CLI::App& app) { add_checks(app); }

}  // namespace fptq::cli
