// MMLU data: the question files, the subject -> category table and the
// standard few-shot prompt.
//
// Files: <dir>/{dev,test}/<subject>_{dev,test}.csv, RFC 4180 CSV with the
// header `question,choice0,choice1,choice2,choice3,answer` (answer 0..3).
// Prompt (the format of the MMLU paper's evaluation code):
//   "The following are multiple choice questions (with answers) about
//   {subject, '_' -> ' '}.\n\n" then each example as
//   "{question}\nA. {c0}\nB. {c1}\nC. {c2}\nD. {c3}\nAnswer: {letter}\n\n"
//   and the question asked, ending in "\nAnswer:".
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fptq::eval {

struct MmluQuestion {
  std::string question;
  std::array<std::string, 4> choices;
  int answer = 0;  // 0..3
};

// The four categories, in report order.
inline constexpr std::array<std::string_view, 4> kMmluCategories = {"humanities", "STEM",
                                                                    "social sciences", "other"};

// The 57 subjects, sorted.
std::span<const std::string_view> mmlu_subjects();
// The category of a subject (the MMLU paper's grouping: its subcategories
// math/physics/chemistry/biology/computer science/engineering -> STEM;
// history/philosophy/law -> humanities; politics/culture/economics/geography/
// psychology -> social sciences; business/health/other -> other). Throws
// fptq::Error for an unknown subject.
std::string_view mmlu_category(std::string_view subject);

// Parses one CSV file's contents; `what` names it in errors. Throws
// fptq::Error on a wrong header, a row without 6 fields, an unterminated
// quote, or an answer that is not 0..3 (naming the line).
std::vector<MmluQuestion> parse_mmlu_csv(std::string_view text, const std::string& what);
// Reads <dir>/<split>/<subject>_<split>.csv. Throws fptq::Error when missing.
std::vector<MmluQuestion> read_mmlu_split(const std::string& dir, std::string_view subject,
                                          std::string_view split);

// " A" .. " D" without the space: 'A' + i.
char mmlu_letter(int i);
// The header line(s) of a subject's prompt.
std::string mmlu_prompt_header(std::string_view subject);
// One question; with its answer ("... Answer: B\n\n") when with_answer.
std::string mmlu_format_question(const MmluQuestion& q, bool with_answer);

}  // namespace fptq::eval
