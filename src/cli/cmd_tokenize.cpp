// fptq tokenize MODEL TEXT | -f FILE: token ids (and pieces).
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "core/error.h"
#include "io/model_file.h"
#include "tokenizer/tokenizer.h"

namespace fptq::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string file;
  bool pieces = false;
  bool no_bos = false;
  bool special = false;
};

// The bytes of a piece for display: complete UTF-8 characters as they are;
// quotes, backslashes, control bytes and bytes of incomplete or invalid
// sequences (byte-fallback pieces) escaped as \xNN.
std::string escaped(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += char(c);
      ++i;
      continue;
    }
    if (c == '\n' || c == '\t') {
      out += c == '\n' ? "\\n" : "\\t";
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool complete = len > 0 && i + len <= bytes.size();
    for (size_t j = 1; complete && j < len; ++j) {
      complete = (static_cast<unsigned char>(bytes[i + j]) & 0xC0) == 0x80;
    }
    if (complete) {
      out.append(bytes, i, len);
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

void run_tokenize(TokenizeArgs& a) {
  if (!a.file.empty() && !a.text.empty()) fail("give either TEXT or -f FILE, not both");
  const std::string text = a.file.empty() ? a.text : read_text_file(a.file);
  auto file = io::open_model(a.model);
  auto tok = tok::Tokenizer::from_metadata(file->metadata, file->path);
  const bool bos = !a.no_bos && tok->add_bos_by_default() && tok->bos_id() >= 0;
  const std::vector<int32_t> ids = tok->encode(text, bos, a.special);
  if (a.pieces) {
    for (int32_t id : ids) fmt::print("{}\t'{}'\n", id, escaped(tok->token_bytes(id)));
  } else {
    fmt::print("{}\n", fmt::join(ids, " "));
  }
  fmt::print(stderr, "{} tokens\n", ids.size());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "tokenize", "Print the token ids of a text (BOS first when the model's tokenizer adds it)");
  auto a = std::make_shared<TokenizeArgs>();
  cmd->add_option("MODEL", a->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("TEXT", a->text, "text to tokenize");
  cmd->add_option("-f,--file", a->file, "read the text from a file instead");
  cmd->add_flag("--pieces", a->pieces, "one token per line: id and its bytes");
  cmd->add_flag("--no-bos", a->no_bos, "do not prepend BOS");
  cmd->add_flag("--special", a->special, "recognize special tokens written in the text");
  cmd->callback([a] { run_tokenize(*a); });
}

}  // namespace fptq::cli
