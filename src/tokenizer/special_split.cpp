#include "tokenizer/special_split.h"

#include <list>

namespace fptq::tok {

std::vector<Fragment> split_special(std::string_view text, const Vocab& vocab,
                                    bool parse_special) {
  std::list<Fragment> frags;
  if (!text.empty()) frags.push_back({text, -1});
  for (const int32_t id : vocab.specials) {
    const TokenType t = vocab.type[id];
    if (!parse_special && (t == TokenType::kControl || t == TokenType::kUnknown)) continue;
    const std::string_view needle = vocab.text[id];
    for (auto it = frags.begin(); it != frags.end(); ++it) {
      if (it->token >= 0) continue;
      std::string_view rest = it->text;
      size_t pos = rest.find(needle);
      if (pos == std::string_view::npos) continue;
      // Replace this raw fragment by [left] special [left] special ... [rest].
      while (pos != std::string_view::npos) {
        if (pos > 0) frags.insert(it, Fragment{rest.substr(0, pos), -1});
        frags.insert(it, Fragment{needle, id});
        rest.remove_prefix(pos + needle.size());
        pos = rest.find(needle);
      }
      if (rest.empty()) {
        it = frags.erase(it);
        --it;  // the special just inserted; the loop's ++it moves past it
      } else {
        it->text = rest;
      }
    }
  }
  return {frags.begin(), frags.end()};
}

}  // namespace fptq::tok
