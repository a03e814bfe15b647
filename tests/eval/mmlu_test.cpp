// MMLU: the category table, the CSV reader, the prompt format, the scoring
// rule (known answers, ties), and a run on stories260K (plumbing and
// determinism; a 260K-parameter story model answers at chance).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/mmlu.h"
#include "model/model.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::eval {
namespace {

TEST(MmluCategories, StandardTable) {
  ASSERT_EQ(mmlu_subjects().size(), 57u);
  std::map<std::string, int> count;
  for (std::string_view s : mmlu_subjects()) ++count[std::string(mmlu_category(s))];
  // The MMLU paper's grouping: 18 STEM, 13 humanities, 12 social sciences, 14 other.
  EXPECT_EQ(count["STEM"], 18);
  EXPECT_EQ(count["humanities"], 13);
  EXPECT_EQ(count["social sciences"], 12);
  EXPECT_EQ(count["other"], 14);
  EXPECT_EQ(mmlu_category("abstract_algebra"), "STEM");
  EXPECT_EQ(mmlu_category("anatomy"), "other");
  EXPECT_EQ(mmlu_category("professional_law"), "humanities");
  EXPECT_EQ(mmlu_category("econometrics"), "social sciences");
  EXPECT_EQ(mmlu_category("world_religions"), "humanities");
  EXPECT_THROW(mmlu_category("astrology"), Error);
}

TEST(MmluCategories, EverySubjectHasFiles) {
  const auto dir = testing::shared_data("mmlu");
  FPTQ_REQUIRE_FILE(dir);
  int64_t n_test = 0;
  for (std::string_view s : mmlu_subjects()) {
    EXPECT_EQ(read_mmlu_split(dir.string(), s, "dev").size(), 5u) << s;
    n_test += int64_t(read_mmlu_split(dir.string(), s, "test").size());
  }
  EXPECT_EQ(n_test, 14042);  // data/README.md
}

TEST(MmluCsv, QuotesCommasNewlines) {
  const std::string csv =
      "question,choice0,choice1,choice2,choice3,answer\n"
      "\"Say \"\"hi\"\", then\nwait.\",a,\"b, c\",d,e,2\r\n"
      "Plain?,1,2,3,4,0\n";
  const auto q = parse_mmlu_csv(csv, "t.csv");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].question, "Say \"hi\", then\nwait.");
  EXPECT_EQ(q[0].choices[1], "b, c");
  EXPECT_EQ(q[0].answer, 2);
  EXPECT_EQ(q[1].choices[3], "4");
  EXPECT_EQ(q[1].answer, 0);
}

TEST(MmluCsv, RejectsMalformed) {
  const std::string h = "question,choice0,choice1,choice2,choice3,answer\n";
  EXPECT_THROW(parse_mmlu_csv("q,a,b,c,d,answer\n", "t.csv"), Error);
  EXPECT_THROW(parse_mmlu_csv(h + "q,a,b,c,d\n", "t.csv"), Error);
  EXPECT_THROW(parse_mmlu_csv(h + "q,a,b,c,d,4\n", "t.csv"), Error);
  EXPECT_THROW(parse_mmlu_csv(h + "q,a,b,c,d,B\n", "t.csv"), Error);
  EXPECT_THROW(parse_mmlu_csv(h + "\"q,a,b,c,d,1\n", "t.csv"), Error);
  try {
    parse_mmlu_csv(h + "q,a,b,c,d,1\nq,a,b,c,d,9\n", "t.csv");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv:3"), std::string::npos) << e.what();
  }
}

TEST(MmluPrompt, StandardFormat) {
  MmluQuestion q{"What is 1+1?", {"1", "2", "3", "4"}, 1};
  EXPECT_EQ(mmlu_prompt_header("high_school_us_history"),
            "The following are multiple choice questions (with answers) about high school us "
            "history.\n\n");
  EXPECT_EQ(mmlu_format_question(q, true),
            "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n");
  EXPECT_EQ(mmlu_format_question(q, false), "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:");
}

TEST(MmluScoring, KnownAnswersAndTies) {
  EXPECT_EQ(mmlu_pick({-3.0, -1.5, -0.2, -9.0}), 2);
  EXPECT_EQ(mmlu_pick({-3.0, -1.5, -0.2, -0.2}), 2);  // ties: the earlier letter
  EXPECT_EQ(mmlu_pick({-1.0, -1.0, -1.0, -1.0}), 0);
  EXPECT_EQ(mmlu_pick({-1.0, -2.0, -3.0, -0.5}), 3);
}

class StoriesMmlu : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = testing::shared_data("models/stories260K.gguf");
    FPTQ_REQUIRE_FILE(path);
    FPTQ_REQUIRE_FILE(testing::shared_data("mmlu"));
    pool = std::make_unique<ThreadPool>(2);
    model = model::Model::load(path.string(), *pool);
    tok = tok::Tokenizer::from_metadata(model->file().metadata, model->file().path);
  }
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tok::Tokenizer> tok;
};

TEST_F(StoriesMmlu, LetterContinuationsDiffer) {
  const MmluLetterTokens t = mmlu_letter_tokens(*tok);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(t.cont[size_t(i)].empty());
    for (int j = i + 1; j < 4; ++j) EXPECT_NE(t.cont[size_t(i)], t.cont[size_t(j)]);
  }
}

TEST_F(StoriesMmlu, SmallRunIsDeterministic) {
  MmluOptions o;
  o.data_dir = testing::shared_data("mmlu").string();
  o.limit = 3;
  o.subjects = {"abstract_algebra", "high_school_geography", "philosophy", "virology"};
  const MmluResult a = evaluate_mmlu(*model, *tok, o, *pool);
  ASSERT_EQ(a.subjects.size(), 4u);
  EXPECT_EQ(a.n, 12);
  for (const auto& s : a.subjects) EXPECT_EQ(s.n, 3) << s.subject;
  EXPECT_EQ(a.category_n, (std::array<int64_t, 4>{3, 3, 3, 3}));
  EXPECT_GE(a.correct, 0);
  EXPECT_LE(a.correct, 12);
  EXPECT_GT(a.tokens_reused, 0);  // the few-shot prefix was cached
  const MmluResult b = evaluate_mmlu(*model, *tok, o, *pool);
  EXPECT_EQ(b.correct, a.correct);
  for (size_t i = 0; i < a.subjects.size(); ++i)
    EXPECT_EQ(b.subjects[i].correct, a.subjects[i].correct);
  // The first question alone (its cached prefix is its prompt minus the last
  // token, not the prefix shared with the others) gets the same answer.
  for (size_t i = 0; i < o.subjects.size(); ++i) {
    MmluOptions single = o;
    single.subjects = {o.subjects[i]};
    single.limit = 1;
    const MmluResult r = evaluate_mmlu(*model, *tok, single, *pool);
    ASSERT_EQ(r.subjects[0].picks.size(), 1u);
    EXPECT_EQ(r.subjects[0].picks[0], a.subjects[i].picks[0]) << o.subjects[i];
  }
}

TEST_F(StoriesMmlu, RejectsBadOptions) {
  MmluOptions o;
  o.data_dir = testing::shared_data("mmlu").string();
  o.subjects = {"astrology"};
  EXPECT_THROW(evaluate_mmlu(*model, *tok, o, *pool), Error);
  o.subjects = {"virology"};
  o.shots = 6;
  EXPECT_THROW(evaluate_mmlu(*model, *tok, o, *pool), Error);
  o.shots = 5;
  o.data_dir = "/nonexistent";
  EXPECT_THROW(evaluate_mmlu(*model, *tok, o, *pool), Error);
}

}  // namespace
}  // namespace fptq::eval
