#include "eval/mmlu_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "core/error.h"
#include "core/input_file.h"

namespace fptq::eval {
namespace {

// Subject -> category, sorted by subject.
constexpr std::pair<std::string_view, std::string_view> kSubjectCategory[] = {
    {"abstract_algebra", "STEM"},
    {"anatomy", "other"},
    {"astronomy", "STEM"},
    {"business_ethics", "other"},
    {"clinical_knowledge", "other"},
    {"college_biology", "STEM"},
    {"college_chemistry", "STEM"},
    {"college_computer_science", "STEM"},
    {"college_mathematics", "STEM"},
    {"college_medicine", "other"},
    {"college_physics", "STEM"},
    {"computer_security", "STEM"},
    {"conceptual_physics", "STEM"},
    {"econometrics", "social sciences"},
    {"electrical_engineering", "STEM"},
    {"elementary_mathematics", "STEM"},
    {"formal_logic", "humanities"},
    {"global_facts", "other"},
    {"high_school_biology", "STEM"},
    {"high_school_chemistry", "STEM"},
    {"high_school_computer_science", "STEM"},
    {"high_school_european_history", "humanities"},
    {"high_school_geography", "social sciences"},
    {"high_school_government_and_politics", "social sciences"},
    {"high_school_macroeconomics", "social sciences"},
    {"high_school_mathematics", "STEM"},
    {"high_school_microeconomics", "social sciences"},
    {"high_school_physics", "STEM"},
    {"high_school_psychology", "social sciences"},
    {"high_school_statistics", "STEM"},
    {"high_school_us_history", "humanities"},
    {"high_school_world_history", "humanities"},
    {"human_aging", "other"},
    {"human_sexuality", "social sciences"},
    {"international_law", "humanities"},
    {"jurisprudence", "humanities"},
    {"logical_fallacies", "humanities"},
    {"machine_learning", "STEM"},
    {"management", "other"},
    {"marketing", "other"},
    {"medical_genetics", "other"},
    {"miscellaneous", "other"},
    {"moral_disputes", "humanities"},
    {"moral_scenarios", "humanities"},
    {"nutrition", "other"},
    {"philosophy", "humanities"},
    {"prehistory", "humanities"},
    {"professional_accounting", "other"},
    {"professional_law", "humanities"},
    {"professional_medicine", "other"},
    {"professional_psychology", "social sciences"},
    {"public_relations", "social sciences"},
    {"security_studies", "social sciences"},
    {"sociology", "social sciences"},
    {"us_foreign_policy", "social sciences"},
    {"virology", "other"},
    {"world_religions", "humanities"},
};

constexpr auto kSubjects = [] {
  std::array<std::string_view, std::size(kSubjectCategory)> a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = kSubjectCategory[i].first;
  return a;
}();

// Splits CSV text into records of fields (RFC 4180: quoted fields may hold
// commas, newlines and doubled quotes). Records carry their first line number.
struct Record {
  int64_t line = 0;
  std::vector<std::string> fields;
};

std::vector<Record> split_csv(std::string_view s, const std::string& what) {
  std::vector<Record> out;
  size_t i = 0;
  int64_t line = 1;
  while (i < s.size()) {
    Record r;
    r.line = line;
    std::string field;
    bool end_record = false;
    while (!end_record) {
      field.clear();
      if (i < s.size() && s[i] == '"') {
        const int64_t start_line = line;
        ++i;
        for (;;) {
          if (i >= s.size()) fail("{}:{}: unterminated quoted field", what, start_line);
          if (s[i] == '"') {
            if (i + 1 < s.size() && s[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (s[i] == '\n') ++line;
          field += s[i++];
        }
        if (i < s.size() && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
          fail("{}:{}: text after a closing quote", what, line);
      } else {
        while (i < s.size() && s[i] != ',' && s[i] != '\n' && s[i] != '\r') field += s[i++];
      }
      r.fields.push_back(field);
      if (i >= s.size()) {
        end_record = true;
      } else if (s[i] == ',') {
        ++i;
      } else {
        if (s[i] == '\r') ++i;
        if (i < s.size() && s[i] == '\n') ++i;
        ++line;
        end_record = true;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::span<const std::string_view> mmlu_subjects() { return kSubjects; }

std::string_view mmlu_category(std::string_view subject) {
  const auto* it = std::lower_bound(
      std::begin(kSubjectCategory), std::end(kSubjectCategory), subject,
      [](const auto& e, std::string_view s) { return e.first < s; });
  if (it == std::end(kSubjectCategory) || it->first != subject)
    fail("unknown MMLU subject '{}'", subject);
  return it->second;
}

std::vector<MmluQuestion> parse_mmlu_csv(std::string_view text, const std::string& what) {
  const std::vector<Record> recs = split_csv(text, what);
  const std::vector<std::string> header = {"question", "choice0", "choice1", "choice2", "choice3",
                                           "answer"};
  if (recs.empty() || recs[0].fields != header)
    fail("{}: expected the header question,choice0,choice1,choice2,choice3,answer", what);
  std::vector<MmluQuestion> out;
  for (size_t r = 1; r < recs.size(); ++r) {
    const Record& rec = recs[r];
    if (rec.fields.size() == 1 && rec.fields[0].empty()) continue;  // blank line
    if (rec.fields.size() != 6)
      fail("{}:{}: {} fields (expected 6)", what, rec.line, rec.fields.size());
    MmluQuestion q;
    q.question = rec.fields[0];
    for (int c = 0; c < 4; ++c) q.choices[size_t(c)] = rec.fields[size_t(c + 1)];
    const std::string& a = rec.fields[5];
    if (a.size() != 1 || a[0] < '0' || a[0] > '3')
      fail("{}:{}: answer '{}' is not 0..3", what, rec.line, a);
    q.answer = a[0] - '0';
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<MmluQuestion> read_mmlu_split(const std::string& dir, std::string_view subject,
                                          std::string_view split) {
  const std::filesystem::path p = std::filesystem::path(dir) / std::string(split) /
                                  (std::string(subject) + "_" + std::string(split) + ".csv");
  std::error_code ec;
  if (!std::filesystem::exists(p, ec))
    fail("{}: no such file (is --data the MMLU folder with dev/ and test/?)", p.string());
  return parse_mmlu_csv(read_text_input(p.string(), "MMLU file"), p.string());
}

char mmlu_letter(int i) {
  FPTQ_CHECK(i >= 0 && i < 4);
  return char('A' + i);
}

std::string mmlu_prompt_header(std::string_view subject) {
  std::string s(subject);
  std::replace(s.begin(), s.end(), '_', ' ');
  return "The following are multiple choice questions (with answers) about " + s + ".\n\n";
}

std::string mmlu_format_question(const MmluQuestion& q, bool with_answer) {
  std::string s = q.question;
  for (int c = 0; c < 4; ++c) {
    s += '\n';
    s += mmlu_letter(c);
    s += ". ";
    s += q.choices[size_t(c)];
  }
  s += "\nAnswer:";
  if (with_answer) {
    s += ' ';
    s += mmlu_letter(q.answer);
    s += "\n\n";
  }
  return s;
}

}  // namespace fptq::eval
