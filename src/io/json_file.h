// Reading small JSON files (Hugging Face config.json, tokenizer.json, ...)
// and typed access to their fields with one-line fptq::Error messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fptq::io {

// Parses the JSON file at `path`. Throws fptq::Error naming the file when it
// cannot be read, is larger than `max_bytes`, or is not valid JSON.
nlohmann::json read_json_file(const std::filesystem::path& path, uint64_t max_bytes = uint64_t(1)
                                                                                      << 30);

// Field accessors for a JSON object `obj` read from `where`. The required
// versions throw fptq::Error("<where>: missing key 'k'") when absent (or null);
// all throw when the value has the wrong type or is out of range.
int64_t json_int(const nlohmann::json& obj, std::string_view key, std::string_view where);
std::optional<int64_t> json_opt_int(const nlohmann::json& obj, std::string_view key,
                                    std::string_view where);
double json_number(const nlohmann::json& obj, std::string_view key, std::string_view where);
std::optional<double> json_opt_number(const nlohmann::json& obj, std::string_view key,
                                      std::string_view where);
std::optional<bool> json_opt_bool(const nlohmann::json& obj, std::string_view key,
                                  std::string_view where);
std::optional<std::string> json_opt_string(const nlohmann::json& obj, std::string_view key,
                                           std::string_view where);

}  // namespace fptq::io
