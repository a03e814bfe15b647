// The on-disk state of a streaming (block-by-block) calibration or
// quantization run, kept in a work folder next to the output so that an
// interrupted run can continue (--resume) and give the same bytes:
//   state.json        the commit point (written atomically after each block):
//                     run key, phase, next block, tensors written so far
//   hidden-<k>.bin    FP hidden states entering block k, raw f32 rows of
//                     every calibration sequence in order
//   stats-<k>.json    calibration statistics of block k (calib_stats format)
//   data.bin          tensor bytes in the order they were produced
// Files a crash may leave beyond the last commit are ignored or truncated
// on resume. The stop flag lets a signal handler ask a run to stop at the
// next sample or tensor boundary (the last commit stays valid).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/quantize_model.h"

namespace fptq::quant {

// Thrown when a run stops on request (signal or test hook); its state is
// kept and the message says how to resume.
class Interrupted : public Error {
 public:
  using Error::Error;
};

// Async-signal-safe: asks the running stream to stop.
void request_stop() noexcept;
bool stop_requested() noexcept;
void clear_stop_request() noexcept;

struct StreamTensor {
  size_t index = 0;      // in the input's (= output's) tensor list
  TensorResult result;
  std::string gptq_note;
  uint64_t offset = 0;   // in data.bin
  std::string sha256;    // of its bytes in data.bin, checked on resume
};

struct StreamState {
  std::string key;             // hash of input, options, calibration data / stats
  std::string phase;           // "calibrate" or "quantize"
  int64_t next_block = 0;      // first block not yet done in `phase`
  bool side_done = false;      // quantize: non-block tensors written
  uint64_t data_bytes = 0;     // committed length of data.bin
  double seconds_hessians = 0, seconds_weights = 0;
  std::vector<StreamTensor> tensors;
};

class WorkDir {
 public:
  explicit WorkDir(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }
  static std::string hidden_name(int64_t block) { return "hidden-" + std::to_string(block) + ".bin"; }
  static std::string stats_name(int64_t block) { return "stats-" + std::to_string(block) + ".json"; }

  // Creates the folder if needed and takes an exclusive lock on it for the
  // object's lifetime: a second run on the same work folder (a second
  // quantize to the same output) fails at once with a clear message instead
  // of deleting the first run's state.
  void lock();
  // Whether lock() created the folder (it held nothing of an earlier run).
  bool created() const { return created_; }

  bool has_state() const;
  // Reads state.json and checks it against the run's input: throws
  // fptq::Error naming it when its checksum does not match its content (a
  // tampered or torn file), it is malformed, names a tensor `src` does not
  // have (or one twice), lies beyond the committed data, has a block index
  // beyond n_layer, or when data.bin is shorter than the committed length
  // (resuming would otherwise pad it with zeros).
  StreamState load(const io::ModelFile& src, int64_t n_layer) const;
  void save(const StreamState& s) const;  // atomic
  void create_fresh() const;              // removes any previous content (keeps the locked folder)
  void remove() const;                    // best effort

 private:
  std::filesystem::path dir_;
  bool created_ = false;
  int lock_fd_ = -1;
};

// A raw binary file written sequentially or read at offsets (POSIX, EINTR
// safe, errors as fptq::Error naming the file).
class RawFile {
 public:
  enum class Mode { read, write_truncate, append };
  RawFile(const std::filesystem::path& path, Mode mode);
  ~RawFile();
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;
  void write(const void* p, uint64_t n);
  void read_at(uint64_t offset, void* p, uint64_t n) const;
  void truncate(uint64_t size);
  uint64_t size() const;
  int fd() const { return fd_; }
  void sync();
  void close();

 private:
  std::string path_;
  int fd_ = -1;
};

// Copies n bytes of `from` at offset `off` to the end of `to`.
void copy_range(const RawFile& from, uint64_t off, uint64_t n, RawFile& to);

// Drops the resident pages of [p, p + n) of a read-only file mapping
// (they are read again from the page cache when touched): keeps a streaming
// run's resident set at one block. Never call it on heap memory.
void release_mapped_pages(const void* p, uint64_t n);

}  // namespace fptq::quant
