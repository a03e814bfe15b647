// Hostile use around the parsers, through the fptq binary: outputs that are
// not regular files (FIFO, socket, character device), two outputs of one
// command on one path, --threads beyond the machine, metadata that cannot be
// run (rms_eps +Inf or 0, an infinite RoPE base, a context shorter than an MMLU
// answer), generate -n far beyond the context, results written to a full
// stdout, and signals: Ctrl-C / SIGTERM while compare and report hold
// temporary models, and the input model truncated while quantize maps it
// (SIGBUS). Refusals go through the refusal harness (one error line, no file
// created or changed); the signal cases check what is left behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "refusal.h"

extern char** environ;

namespace fptq {
namespace {

namespace fs = std::filesystem;
using clitest::Case;
using clitest::contains;
using clitest::kCalib;
using clitest::quoted;
using clitest::read_file;
using clitest::write_variant;

class HostileUse : public clitest::RefusalCli {};

// A copy of stories260K with one metadata value replaced (or added).
void write_with(const fs::path& dst, const std::string& key, const io::Value& value) {
  const auto src = io::read_gguf(testing::shared_data("models/stories260K.gguf").string());
  const bool has = src->metadata.find(key) != nullptr;
  write_variant(
      dst,
      [&](const std::string& k, io::Value& v) {
        if (k == key) v = value;
      },
      nullptr,
      has ? std::vector<std::pair<std::string, io::Value>>{}
          : std::vector<std::pair<std::string, io::Value>>{{key, value}});
}

TEST_F(HostileUse, OutputsThatAreNotRegularFilesAreRefused) {
  for (const char* f : {"out.fifo", "fifo.json", "fifo.html"})
    ASSERT_EQ(::mkfifo((work_ / f).c_str(), 0600), 0) << f;
  // A listening-free UNIX socket bound in the work folder.
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sp = (work_ / "sock.json").string();
  ASSERT_LT(sp.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sp.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::vector<Case> cases = {
      {"quantize -o FIFO", "quantize model.gguf " + kCalib + " -o out.fifo", "is a FIFO"},
      {"quantize --save-stats FIFO",
       "quantize model.gguf " + kCalib + " --save-stats out.fifo -o out.gguf", "is a FIFO"},
      {"quantize --report FIFO",
       "quantize model.gguf " + kCalib + " --report fifo.json -o out.gguf", "is a FIFO"},
      {"calibrate -o FIFO", "calibrate model.gguf " + kCalib + " -o fifo.json", "is a FIFO"},
      {"calibrate -o socket", "calibrate model.gguf " + kCalib + " -o sock.json", "is a socket"},
      {"report -o FIFO", "report model.gguf -o fifo.html", "is a FIFO"},
      {"report --json socket", "report model.gguf -o r.html --json sock.json", "is a socket"},
      {"sensitivity --json FIFO", "sensitivity model.gguf -f story.txt --json fifo.json",
       "is a FIFO"},
      {"sensitivity -o FIFO", "sensitivity model.gguf -f story.txt --auto-keep 0.1 -o out.fifo",
       "is a FIFO"},
  };
  // A character device of our own (the one /dev/null is): only root may make
  // one, and root is who replaced the machine's /dev/null.
  if (::geteuid() == 0 && ::mknod((work_ / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    cases.push_back({"quantize -o character device", "quantize model.gguf " + kCalib + " -o null",
                     "is a character device"});
    cases.push_back({"calibrate -o character device", "calibrate model.gguf " + kCalib + " -o null",
                     "is a character device"});
  }
  for (const Case& c : cases) expect_refused(c);
  ::close(sock);
}

TEST_F(HostileUse, OutputsOfOneCommandMustDiffer) {
  // Outputs whose names must differ in their extension can still be one
  // file through a link.
  std::ofstream(work_ / "r.json") << "{}";
  fs::create_hard_link(work_ / "r.json", work_ / "r.html");
  std::ofstream(work_ / "s.gguf") << "x";
  fs::create_hard_link(work_ / "s.gguf", work_ / "s.json");
  const std::vector<Case> cases = {
      {"quantize -o X --save-stats X",
       "quantize model.gguf " + kCalib + " -o x.gguf --save-stats x.gguf", "are the same file"},
      {"quantize --save-stats X --report ./X",
       "quantize model.gguf " + kCalib + " -o x.gguf --save-stats x.json --report ./x.json",
       "are the same file"},
      {"calibrate -o X --report X", "calibrate model.gguf " + kCalib + " -o x.json --report x.json",
       "are the same file"},
      {"report -o X --json (hard link to X)", "report model.gguf -o r.html --json r.json",
       "are the same file"},
      {"sensitivity -o X --json (hard link to X)",
       "sensitivity model.gguf -f story.txt --auto-keep 0.1 -o s.gguf --json subdir/../s.json",
       "are the same file"},
      {"bench -o the model (appends to it)", "bench model.gguf -o model.gguf",
       "is the input model"},
      {"bench -o a hard link to the model", "bench model.gguf -o hard.gguf", "is the input model"},
  };
  for (const Case& c : cases) expect_refused(c);
}

TEST_F(HostileUse, ThreadsBeyondTheMachineAreRefused) {
  const std::vector<Case> cases = {
      {"quantize -t 1000000", "quantize model.gguf " + kCalib + " -t 1000000 -o out.gguf",
       "threads requested: at most"},
      {"perplexity -t 2147483647", "perplexity model.gguf -f story.txt -c 16 -t 2147483647",
       "threads requested: at most"},
  };
  for (const Case& c : cases) expect_refused(c);
}

TEST_F(HostileUse, MetadataThatCannotBeRunIsRefused) {
  using io::Value;
  using io::ValueType;
  const double inf = std::numeric_limits<double>::infinity();
  write_with(work_ / "eps_inf.gguf", "llama.attention.layer_norm_rms_epsilon",
             Value::make_float(ValueType::F32, inf));
  write_with(work_ / "eps_zero.gguf", "llama.attention.layer_norm_rms_epsilon",
             Value::make_float(ValueType::F32, 0.0));
  write_with(work_ / "rope_inf.gguf", "llama.rope.freq_base",
             Value::make_float(ValueType::F32, inf));
  write_with(work_ / "ctx2.gguf", "llama.context_length", Value::make_int(ValueType::U32, 2));
  // A tokenizer of 520 tokens on a model with 512 embedding rows.
  write_variant(
      work_ / "vocab.gguf",
      [](const std::string& k, io::Value& v) {
        if (k == "tokenizer.ggml.tokens")
          for (int i = 0; i < 8; ++i) v.strings.push_back("<extra" + std::to_string(i) + ">");
      },
      nullptr);
  const std::string mmlu = quoted(testing::shared_data("mmlu").string());
  std::vector<Case> cases = {
      {"rms_eps = +Inf (perplexity)", "perplexity eps_inf.gguf -f story.txt -c 16",
       "layer_norm_rms_epsilon = inf must be in (0, 1)"},
      {"rms_eps = +Inf (quantize)", "quantize eps_inf.gguf " + kCalib + " -o out.gguf",
       "layer_norm_rms_epsilon = inf must be in (0, 1)"},
      {"rms_eps = 0 (generate)", "generate eps_zero.gguf -p Once -n 4",
       "layer_norm_rms_epsilon = 0 must be in (0, 1)"},
      {"tokenizer larger than the embedding (generate)", "generate vocab.gguf -p Once -n 4",
       "the tokenizer has 520 tokens but token_embd.weight has 512 rows"},
      {"rope.freq_base = +Inf (perplexity)", "perplexity rope_inf.gguf -f story.txt -c 16",
       "rope.freq_base = inf must be finite"},
  };
  if (fs::exists(testing::shared_data("mmlu")))
    cases.push_back({"context length 2 < MMLU answer + 1 (mmlu)",
                     "mmlu ctx2.gguf --data " + mmlu + " --limit 1 --subjects anatomy",
                     "context length (2 tokens) is too short"});
  for (const Case& c : cases) expect_refused(c);
}

// Inputs that are not files of their kind: a FIFO without writer as the
// model or the text (must not block), a directory or a binary as text, a
// device as text.
TEST_F(HostileUse, InputsThatAreNotFilesAreRefused) {
  ASSERT_EQ(::mkfifo((work_ / "in.fifo").c_str(), 0600), 0);
  std::vector<Case> cases = {
      {"model is a FIFO (perplexity)", "perplexity in.fifo -f story.txt -c 16",
       "in.fifo: not a regular file"},
      {"text is a FIFO without writer", "perplexity model.gguf -f in.fifo -c 16",
       "1 tokens do not fill one window"},
      {"text is a directory", "perplexity model.gguf -f subdir -c 16",
       "text file 'subdir' is a directory"},
      {"calibration text is the model",
       "calibrate model.gguf --calib model.gguf --samples 2 --seqlen 16 -o out.json",
       "calibration text 'model.gguf' is not a text file: it holds a NUL byte"},
  };
  if (::geteuid() == 0 && ::mknod((work_ / "zero").c_str(), S_IFCHR | 0666, makedev(1, 5)) == 0)
    cases.push_back(
        {"calibration text is /dev/zero",
         "calibrate model.gguf --calib zero --samples 2 --seqlen 16 -o out.json",
         "calibration text 'zero' is not a text file: it holds a NUL byte at offset 0"});
  for (const Case& c : cases) expect_refused(c);
}

// Sizes from options or metadata are bounded before anything is allocated,
// and numbers that are not numbers are refused at parse time.
TEST_F(HostileUse, SizesAndNumbersBeyondTheirBoundsAreRefused) {
  write_with(work_ / "layers.gguf", "llama.block_count",
             io::Value::make_int(io::ValueType::U32, 4000000000));
  write_with(work_ / "ctx_huge.gguf", "llama.context_length",
             io::Value::make_int(io::ValueType::U32, 4000000000));
  const std::vector<Case> cases = {
      {"--samples 1e9 random calibration",
       "calibrate model.gguf --calib random --samples 1000000000 --seqlen 512 -o out.json",
       "random tokens exceed the bound of 67108864 tokens"},
      {"block_count 4e9", "perplexity layers.gguf -f story.txt -c 16",
       "block_count = 4000000000 is beyond the 4096 layers"},
      {"generate -n 2e9 on a 4e9-token context", "generate ctx_huge.gguf -p Once -n 2000000000",
       "a KV cache of 2000000002 tokens would take"},
      {"--act-clip nan", "quantize model.gguf " + kCalib + " --act-clip nan -o out.gguf",
       "--act-clip: must be a finite number, got 'nan'"},
      {"--v0 inf", "calibrate model.gguf " + kCalib + " --v0 inf -o out.json",
       "--v0: must be a finite number, got 'inf'"},
      {"--seed -1", "calibrate model.gguf " + kCalib + " --seed -1 -o out.json",
       "--seed: must be an integer in [0, 2^64 - 1], got '-1'"},
      {"--seed 2^64", "quantize model.gguf " + kCalib + " --seed 18446744073709551616 -o out.gguf",
       "--seed: must be an integer in [0, 2^64 - 1]"},
      {"--top-k -1", "generate model.gguf -p Once --top-k -1", "--top-k: must be an integer >= 0"},
      {"--group-size -1", "quantize model.gguf " + kCalib + " --group-size -1 -o out.gguf",
       "--group-size: must be an integer >= 0"},
  };
  for (const Case& c : cases) expect_refused(c);
}

// A short context bounds generate: -n far beyond it is capped (the cache is
// sized from the cap, not from -n), and a prompt that fills it is refused.
TEST_F(HostileUse, GenerateIsBoundedByTheContext) {
  write_with(work_ / "ctx24.gguf", "llama.context_length",
             io::Value::make_int(io::ValueType::U32, 24));
  const clitest::CliRun r =
      run({"", "generate ctx24.gguf -p 'Once upon a time' -n 2000000000", ""});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "-n 2000000000 capped to")) << r.err;
  EXPECT_TRUE(contains(r.err, "model's context (24)")) << r.err;
  expect_refused({"prompt longer than the context",
                  "generate ctx24.gguf -p '" + std::string(200, 'a') + " b c d e f g h' -n 4",
                  "the model's context holds 24"});
}

// Results that cannot be written to stdout (a full disk: /dev/full) fail.
TEST_F(HostileUse, FullStdoutFails) {
  FPTQ_REQUIRE_FILE("/dev/full");
  const auto bin = testing::build_dir() / "bin" / "fptq";
  for (const std::string args : {"info model.gguf", "tokenize model.gguf 'Once upon a time'"}) {
    SCOPED_TRACE(args);
    const std::string cmd = "cd " + quoted(work_.path().string()) + " && " + quoted(bin.string()) +
                            " " + args + " >/dev/full 2>" + quoted((logs_ / "err").string());
    const int raw = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(raw));
    EXPECT_EQ(WEXITSTATUS(raw), 1);
    EXPECT_TRUE(contains(read_file(logs_ / "err"), "writing the results to standard output failed"))
        << read_file(logs_ / "err");
  }
}

// Tensors the model never reads, and evaluation windows past the trained
// context, are worth a note (the command still runs): info lists them,
// quantize and perplexity say so on stderr; a plain model gets no note.
TEST_F(HostileUse, UnusedTensorsAndWindowsPastTheContextAreNoted) {
  {
    const auto src = io::read_gguf((work_ / "model.gguf").string());
    io::GgufWriter w(src->alignment);
    for (const auto& [key, value] : src->metadata.items())
      if (key != "general.alignment") w.add(key, value);
    for (const io::TensorInfo& t : src->tensors)
      w.add_tensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
    w.add_tensor("rope_freqs.weight", io::GgmlType::F32, {4}, std::vector<uint8_t>(16, 0));
    w.write((work_ / "extra.gguf").string());
  }
  const std::string wiki = testing::shared_data("text/wikitext-2-raw-test.txt").string();
  const clitest::CliRun info = run({"", "info extra.gguf", ""});
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_TRUE(
      contains(info.out, "unused tensors:  1 (the model never reads them): rope_freqs.weight"))
      << info.out;
  const clitest::CliRun q = run({"", "quantize extra.gguf " + kCalib + " -o q.gguf", ""});
  ASSERT_EQ(q.status, 0) << q.err;
  EXPECT_TRUE(contains(q.err,
                       "holds 1 tensor(s) the llama model never reads (its output does "
                       "not depend on them): rope_freqs.weight"))
      << q.err;
  const clitest::CliRun ppl =
      run({"", "perplexity extra.gguf -f " + quoted(wiki) + " -c 4096 --chunks 1 -t 1", ""});
  ASSERT_EQ(ppl.status, 0) << ppl.err;
  EXPECT_TRUE(contains(ppl.err, "rope_freqs.weight")) << ppl.err;
  EXPECT_TRUE(contains(ppl.err,
                       "windows of 4096 tokens are longer than the model's trained "
                       "context (2048)"))
      << ppl.err;
  const clitest::CliRun plain =
      run({"", "perplexity model.gguf -f " + quoted(wiki) + " -c 256 --chunks 1 -t 1", ""});
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_FALSE(contains(plain.err, "note:")) << plain.err;
  EXPECT_FALSE(contains(run({"", "info model.gguf", ""}).out, "unused tensors"));
}

// A weight too large for its fp16 group scale: the error names the tensor,
// the row and the columns, with the paper's recipe and the default (whose AWQ
// search quantizes rows one at a time) alike.
TEST_F(HostileUse, OverflowErrorsNameTheTensorAndRow) {
  write_variant(work_ / "ovf.gguf", nullptr,
                [](const std::string& name, io::GgmlType&, std::vector<uint8_t>& bytes) {
                  // Above 65504 · 127: no fp16 scale holds it on either grid.
                  if (name == "blk.2.attn_k.weight") clitest::set_f32(bytes, 64 + 6, 3e7f);
                });
  for (const std::string scheme : {"fptq", "fptq-plus"}) {
    const clitest::CliRun r =
        run({"", "quantize ovf.gguf --scheme " + scheme + " " + kCalib + " -o q.gguf", ""});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_TRUE(contains(r.err, "blk.2.attn_k.weight") && contains(r.err, "row 1, columns 0..") &&
                contains(r.err, "overflows fp16"))
        << scheme << ": " << r.err;
    EXPECT_FALSE(fs::exists(work_ / "q.gguf"));
  }
}

// Runs bin/fptq `args` in `cwd` as a child with TMPDIR=`tmp`, stderr to
// `err`; returns its pid.
pid_t spawn_fptq(const fs::path& cwd, const fs::path& tmp, const fs::path& err,
                 const std::vector<std::string>& args) {
  const std::string bin = (testing::build_dir() / "bin" / "fptq").string();
  std::vector<std::string> argv_s = {bin};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("TMPDIR=", 0) != 0) env_s.emplace_back(*e);
  env_s.push_back("TMPDIR=" + tmp.string());
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string old = fs::current_path().string();
  fs::current_path(cwd);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), envp.data());
  fs::current_path(old);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits up to `seconds` for pred() to hold while the child runs.
template <class Pred>
bool wait_for(Pred pred, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::directory_iterator(dir, ec) != fs::directory_iterator();
}

// compare, report and sensitivity quantize into a temporary folder under
// TMPDIR; a signal while it exists must remove it and end the process by
// that signal (or, where a command stops gracefully on it, by a non-zero
// exit).
TEST_F(HostileUse, SignalsRemoveTemporaryModels) {
  struct Run {
    std::vector<std::string> args;
    int sig;
  };
  const std::string wiki = testing::shared_data("text/wikitext-2-raw-test.txt").string();
  const std::vector<Run> runs = {
      {{"compare", "model.gguf", "-f", wiki, "--calib", "random", "--samples", "2", "--seqlen",
        "16", "--chunks", "2", "-c", "64", "-t", "1"},
       SIGINT},
      {{"compare", "model.gguf", "-f", wiki, "--calib", "random", "--samples", "2", "--seqlen",
        "16", "--chunks", "2", "-c", "64", "-t", "1"},
       SIGTERM},
      {{"report", "model.gguf", "-o", "r.html", "-f", wiki, "--calib", "random", "--samples", "2",
        "--seqlen", "16", "-t", "1"},
       SIGTERM},
      {{"sensitivity", "model.gguf", "-f", wiki, "--calib", "random", "--samples", "2", "--seqlen",
        "16", "-t", "1"},
       SIGHUP},
  };
  for (const Run& run : runs) {
    SCOPED_TRACE(run.args[0] + " + signal " + std::to_string(run.sig));
    const fs::path tmp = work_ / ("tmp-" + run.args[0] + std::to_string(run.sig));
    fs::create_directory(tmp);
    const pid_t pid = spawn_fptq(work_.path(), tmp, logs_ / "err", run.args);
    ASSERT_GT(pid, 0);
    // The temporary folder exists and already holds the quantized model (or
    // its writer's temporary).
    const bool seen = wait_for(
        [&] {
          std::error_code ec;
          for (const auto& e : fs::recursive_directory_iterator(tmp, ec))
            if (e.is_regular_file(ec)) return true;
          return false;
        },
        60);
    ::kill(pid, run.sig);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(seen) << "no temporary file appeared\n" << read_file(logs_ / "err");
    EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == run.sig) ||
                (WIFEXITED(status) && WEXITSTATUS(status) != 0))
        << "status " << status << "\n"
        << read_file(logs_ / "err");
    EXPECT_FALSE(has_entries(tmp)) << "left behind in TMPDIR\n" << read_file(logs_ / "err");
    EXPECT_FALSE(fs::exists(work_ / "r.html"));
  }
}

// A 6-layer synthetic model (~30 MB) whose default-recipe quantization takes
// seconds after its calibration, so a test can act while it runs; and the
// command that quantizes it (stderr shows "calibrate block 6/6" when the
// weights phase starts).
bool write_big_model(const fs::path& path) {
  const auto synth = testing::build_dir() / "bin" / "fptq-synth-llama";
  const std::string make = quoted(synth.string()) + " -o " + quoted(path.string()) +
                           " --layers 6 --dim 512 --ffn 1408 --heads 8 --kv-heads 8 --vocab 2048 "
                           ">/dev/null";
  return std::system(make.c_str()) == 0;
}
const std::vector<std::string> kQuantizeBig = {"quantize",  "big.gguf", "--calib",  "random",
                                               "--samples", "2",        "--seqlen", "64",
                                               "-t",        "1",        "-o",       "q.gguf"};

// The input truncated while quantize maps it: one clear line, exit 1 (not a
// crash), and no output file.
TEST_F(HostileUse, InputTruncatedWhileQuantizing) {
  if (!fs::exists(testing::build_dir() / "bin" / "fptq-synth-llama"))
    GTEST_SKIP() << "fptq-synth-llama not built";
  ASSERT_TRUE(write_big_model(work_ / "big.gguf"));
  const fs::path tmp = work_ / "tmp";
  fs::create_directory(tmp);
  const pid_t pid = spawn_fptq(work_.path(), tmp, logs_ / "err", kQuantizeBig);
  ASSERT_GT(pid, 0);
  // Truncate once calibration has read every block (the model is mapped).
  const bool calibrated =
      wait_for([&] { return contains(read_file(logs_ / "err"), "calibrate block 6/6"); }, 60);
  fs::resize_file(work_ / "big.gguf", 100000);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const std::string err = read_file(logs_ / "err");
  ASSERT_TRUE(calibrated) << err;
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << "\n" << err;
  EXPECT_EQ(WEXITSTATUS(status), 1) << err;
  EXPECT_TRUE(contains(err,
                       "fptq: error: an input file was truncated or changed while fptq was "
                       "reading it"))
      << err;
  EXPECT_FALSE(fs::exists(work_ / "q.gguf"));
  EXPECT_FALSE(has_entries(tmp));
}

// Resume trusts nothing it cannot check: a state interrupted inside
// quantization (FPTQ_STREAM_STOP_AFTER), then (a) the input's bytes changed
// with its size and modification time kept, (b) a field of state.json
// edited, (c) a committed tensor in data.bin flipped: each --resume fails
// with a message saying what, and never writes an output.
TEST_F(HostileUse, ResumeRefusesChangedInputsAndTamperedState) {
  const std::string args = "quantize model.gguf --scheme fptq " + kCalib + " -o out.gguf";
  const fs::path state = work_ / "out.gguf.fptq-partial" / "state.json";
  const fs::path data = work_ / "out.gguf.fptq-partial" / "data.bin";
  auto interrupt = [&] {
    ::setenv("FPTQ_STREAM_STOP_AFTER", "7", 1);
    const clitest::CliRun r = run({"", args, ""});
    ::unsetenv("FPTQ_STREAM_STOP_AFTER");
    ASSERT_NE(r.status, 0);
    ASSERT_TRUE(fs::exists(state)) << r.err;
  };
  auto resume_fails = [&](const std::string& message) {
    const clitest::CliRun r = run({"", args + " --resume", ""});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_TRUE(contains(r.err, message)) << "expected '" << message << "' in:\n" << r.err;
    EXPECT_FALSE(fs::exists(work_ / "out.gguf"));
  };
  // (a) One weight byte changed in place, size and mtime restored.
  interrupt();
  {
    const fs::path m = work_ / "model.gguf";
    const auto mtime = fs::last_write_time(m);
    std::string bytes = read_file(m);
    bytes[bytes.size() - 3] ^= 0x01;
    std::ofstream(m, std::ios::binary | std::ios::trunc) << bytes;
    fs::last_write_time(m, mtime);
  }
  resume_fails("is from another input, options or calibration data");
  fs::copy_file(testing::shared_data("models/stories260K.gguf"), work_ / "model.gguf",
                fs::copy_options::overwrite_existing);
  // (b) A field of the state edited.
  interrupt();
  {
    std::string j = read_file(state);
    const size_t at = j.find("\"next_block\": ");
    ASSERT_NE(at, std::string::npos) << j;
    j.replace(at, 14, "\"next_block\": 9");
    std::ofstream(state, std::ios::binary | std::ios::trunc) << j;
  }
  resume_fails("checksum mismatch (the state was changed or damaged)");
  // (c) A committed tensor's bytes flipped.
  interrupt();
  {
    std::string d = read_file(data);
    ASSERT_FALSE(d.empty());
    d[0] ^= 0x40;
    std::ofstream(data, std::ios::binary | std::ios::trunc) << d;
  }
  resume_fails("does not match its checksum");
}

// Two runs on one output: the second fails at once (the work folder is
// locked) and leaves the first run's state alone.
TEST_F(HostileUse, SecondRunOnTheSameOutputIsRefused) {
  if (!fs::exists(testing::build_dir() / "bin" / "fptq-synth-llama"))
    GTEST_SKIP() << "fptq-synth-llama not built";
  ASSERT_TRUE(write_big_model(work_ / "big.gguf"));
  const fs::path tmp = work_ / "tmp";
  fs::create_directory(tmp);
  const std::vector<std::string>& args = kQuantizeBig;
  const pid_t first = spawn_fptq(work_.path(), tmp, logs_ / "err", args);
  ASSERT_GT(first, 0);
  const bool calibrated =
      wait_for([&] { return contains(read_file(logs_ / "err"), "calibrate block 6/6"); }, 60);
  const pid_t second = spawn_fptq(work_.path(), tmp, logs_ / "err2", args);
  ASSERT_GT(second, 0);
  int status2 = 0;
  ASSERT_EQ(::waitpid(second, &status2, 0), second);
  const bool first_state = fs::exists(work_ / "q.gguf.fptq-partial" / "state.json");
  ::kill(first, SIGKILL);  // its committed state stays for --resume
  int status1 = 0;
  ASSERT_EQ(::waitpid(first, &status1, 0), first);
  ASSERT_TRUE(calibrated) << read_file(logs_ / "err");
  const std::string err2 = read_file(logs_ / "err2");
  ASSERT_TRUE(WIFEXITED(status2)) << err2;
  EXPECT_EQ(WEXITSTATUS(status2), 1) << err2;
  EXPECT_TRUE(contains(err2, "the work folder is in use by another fptq run")) << err2;
  EXPECT_TRUE(first_state) << "the second run removed the first run's state";
  EXPECT_TRUE(fs::exists(work_ / "q.gguf.fptq-partial" / "state.json"));
  EXPECT_FALSE(fs::exists(work_ / "q.gguf"));
}

}  // namespace
}  // namespace fptq
