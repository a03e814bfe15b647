#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"

namespace fptq::tok {

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(const io::Metadata& md,
                                                    std::string_view where) {
  const std::string model = md.get_string("tokenizer.ggml.model", where);
  if (model == "llama") return std::make_unique<SpmTokenizer>(md, where);
  if (model == "gpt2") return std::make_unique<BpeTokenizer>(md, where);
  fail("{}: unsupported tokenizer.ggml.model '{}' (supported: llama, gpt2)", where, model);
}

}  // namespace fptq::tok
