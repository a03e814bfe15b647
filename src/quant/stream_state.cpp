#include "quant/stream_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/checked_math.h"
#include "core/sha256.h"
#include "io/json_file.h"

namespace fptq::quant {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

using nlohmann::json;

json tensor_json(const StreamTensor& t) {
  const TensorResult& r = t.result;
  return json{{"index", t.index},   {"name", r.name},     {"type", uint32_t(r.type)},
              {"elements", r.elements}, {"bytes", r.bytes}, {"group", r.group},
              {"linear", r.linear}, {"nmse", r.nmse},     {"note", r.note},
              {"gptq_note", t.gptq_note}, {"offset", t.offset}, {"sha256", t.sha256}};
}

// The checksum of a state: SHA-256 of its JSON without the checksum field
// (nlohmann's objects keep their keys sorted, so the dump is canonical).
std::string state_checksum(json j) {
  j.erase("checksum");
  return sha256_hex(j.dump());
}

}  // namespace

void request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }
bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }
void clear_stop_request() noexcept { g_stop.store(false, std::memory_order_relaxed); }

WorkDir::~WorkDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void WorkDir::lock() {
  if (lock_fd_ >= 0) return;
  std::error_code ec;
  created_ = std::filesystem::create_directory(dir_, ec);
  if (ec) fail("{}: cannot create the work folder: {}", dir_.string(), ec.message());
  const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open the work folder: {}", dir_.string(), std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      fail("{}: the work folder is in use by another fptq run (a second run to the same output?); "
           "wait for it to finish or choose another output",
           dir_.string());
    fail("{}: cannot lock the work folder: {}", dir_.string(), std::strerror(err));
  }
  lock_fd_ = fd;
}

bool WorkDir::has_state() const { return std::filesystem::is_regular_file(file("state.json")); }

StreamState WorkDir::load(const io::ModelFile& src, int64_t n_layer) const {
  const std::string where = file("state.json").string();
  const json j = io::read_json_file(file("state.json"), uint64_t(1) << 28);
  StreamState s;
  try {
    if (!j.is_object() || !j.contains("checksum") ||
        j.at("checksum").get<std::string>() != state_checksum(j))
      fail("{}: checksum mismatch (the state was changed or damaged): remove the folder and run "
           "without --resume",
           where);
    if (j.at("format").get<std::string>() != "fptq-stream-state" || j.at("version").get<int>() != 1)
      fail("{}: not an fptq stream state (format/version)", where);
    s.key = j.at("key").get<std::string>();
    s.phase = j.at("phase").get<std::string>();
    s.next_block = j.at("next_block").get<int64_t>();
    s.side_done = j.at("side_done").get<bool>();
    s.data_bytes = j.at("data_bytes").get<uint64_t>();
    s.seconds_hessians = j.at("seconds_hessians").get<double>();
    s.seconds_weights = j.at("seconds_weights").get<double>();
    for (const json& t : j.at("tensors")) {
      StreamTensor st;
      st.index = t.at("index").get<size_t>();
      st.result.name = t.at("name").get<std::string>();
      const uint32_t type = t.at("type").get<uint32_t>();
      if (!io::type_info(type)) fail("{}: unknown tensor type {}", where, type);
      st.result.type = io::GgmlType(type);
      st.result.elements = t.at("elements").get<int64_t>();
      st.result.bytes = t.at("bytes").get<uint64_t>();
      st.result.group = t.at("group").get<int64_t>();
      st.result.linear = t.at("linear").get<bool>();
      st.result.nmse = t.at("nmse").get<double>();
      st.result.note = t.at("note").get<std::string>();
      st.gptq_note = t.at("gptq_note").get<std::string>();
      st.offset = t.at("offset").get<uint64_t>();
      st.sha256 = t.at("sha256").get<std::string>();
      uint64_t end = 0;
      if (!checked_add(st.offset, st.result.bytes, &end) || end > s.data_bytes)
        fail("{}: tensor '{}' lies beyond the committed data", where, st.result.name);
      if (st.index >= src.tensors.size() || src.tensors[st.index].name != st.result.name)
        fail("{}: tensor {} '{}' is not tensor {} of '{}'", where, st.index, st.result.name,
             st.index, src.path);
      s.tensors.push_back(std::move(st));
    }
  } catch (const json::exception& e) {
    fail("{}: malformed stream state: {}", where, e.what());
  }
  if (s.phase != "calibrate" && s.phase != "quantize") fail("{}: unknown phase '{}'", where, s.phase);
  if (s.next_block < 0 || s.next_block > n_layer)
    fail("{}: block index {} out of range [0, {}]", where, s.next_block, n_layer);
  std::vector<bool> seen(src.tensors.size(), false);
  for (const StreamTensor& t : s.tensors) {
    if (seen[t.index]) fail("{}: tensor '{}' listed twice", where, t.result.name);
    seen[t.index] = true;
  }
  std::error_code ec;
  const uint64_t have = s.data_bytes == 0 ? 0 : std::filesystem::file_size(file("data.bin"), ec);
  if (ec || have < s.data_bytes)
    fail("{}: holds {} bytes, fewer than the {} committed in '{}': remove the folder and run "
         "without --resume",
         file("data.bin").string(), ec ? 0 : have, s.data_bytes, where);
  // The committed tensors must still be the bytes that were written.
  if (!s.tensors.empty()) {
    RawFile data(file("data.bin"), RawFile::Mode::read);
    std::vector<uint8_t> buf;
    for (const StreamTensor& t : s.tensors) {
      buf.resize(size_t(t.result.bytes));
      data.read_at(t.offset, buf.data(), t.result.bytes);
      if (sha256_hex(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size())) !=
          t.sha256)
        fail("{}: tensor '{}' does not match its checksum in '{}': remove the folder and run "
             "without --resume",
             file("data.bin").string(), t.result.name, where);
    }
  }
  return s;
}

void WorkDir::save(const StreamState& s) const {
  json t = json::array();
  for (const StreamTensor& x : s.tensors) t.push_back(tensor_json(x));
  const json j{{"format", "fptq-stream-state"}, {"version", 1},
               {"key", s.key},                  {"phase", s.phase},
               {"next_block", s.next_block},    {"side_done", s.side_done},
               {"data_bytes", s.data_bytes},    {"seconds_hessians", s.seconds_hessians},
               {"seconds_weights", s.seconds_weights}, {"tensors", t}};
  json with_sum = j;
  with_sum["checksum"] = state_checksum(j);
  write_file_atomic(file("state.json").string(), with_sum.dump(1));
}

void WorkDir::create_fresh() const {
  std::error_code ec;
  if (lock_fd_ >= 0) {
    // Keep the locked folder itself; empty it.
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      std::error_code rm;
      std::filesystem::remove_all(e.path(), rm);
      if (rm) fail("{}: cannot clear the work folder: {}", dir_.string(), rm.message());
    }
    if (ec) fail("{}: cannot clear the work folder: {}", dir_.string(), ec.message());
    return;
  }
  std::filesystem::remove_all(dir_, ec);
  if (!std::filesystem::create_directory(dir_, ec) || ec)
    fail("{}: cannot create the work folder: {}", dir_.string(), ec ? ec.message() : "exists");
}

void WorkDir::remove() const {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

RawFile::RawFile(const std::filesystem::path& path, Mode mode) : path_(path.string()) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case Mode::read: flags |= O_RDONLY; break;
    case Mode::write_truncate: flags |= O_WRONLY | O_CREAT | O_TRUNC; break;
    case Mode::append: flags |= O_WRONLY | O_CREAT | O_APPEND; break;
  }
  fd_ = ::open(path_.c_str(), flags, 0666);
  if (fd_ < 0) fail("{}: cannot open: {}", path_, std::strerror(errno));
}

RawFile::~RawFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RawFile::write(const void* p, uint64_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd_, b, size_t(std::min<uint64_t>(n, uint64_t(1) << 30)));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed: {}", path_, std::strerror(errno));
    }
    b += w;
    n -= uint64_t(w);
  }
}

void RawFile::read_at(uint64_t offset, void* p, uint64_t n) const {
  auto* b = static_cast<uint8_t*>(p);
  while (n > 0) {
    const ssize_t r = ::pread(fd_, b, size_t(std::min<uint64_t>(n, uint64_t(1) << 30)), off_t(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      fail("{}: read failed: {}", path_, std::strerror(errno));
    }
    if (r == 0) fail("{}: truncated (wanted {} more bytes at offset {})", path_, n, offset);
    b += r;
    n -= uint64_t(r);
    offset += uint64_t(r);
  }
}

void RawFile::truncate(uint64_t size) {
  if (::ftruncate(fd_, off_t(size)) != 0) fail("{}: truncate failed: {}", path_, std::strerror(errno));
}

uint64_t RawFile::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("{}: stat failed: {}", path_, std::strerror(errno));
  return uint64_t(st.st_size);
}

void RawFile::sync() {
  if (::fsync(fd_) != 0) fail("{}: fsync failed: {}", path_, std::strerror(errno));
}

void RawFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("{}: close failed: {}", path_, std::strerror(errno));
}

void copy_range(const RawFile& from, uint64_t off, uint64_t n, RawFile& to) {
  std::vector<uint8_t> buf;
  while (n > 0) {
    loff_t in = loff_t(off);
    const ssize_t c = ::copy_file_range(from.fd(), &in, to.fd(), nullptr,
                                        size_t(std::min<uint64_t>(n, uint64_t(1) << 30)), 0);
    if (c > 0) {
      off += uint64_t(c);
      n -= uint64_t(c);
      continue;
    }
    if (c < 0 && errno == EINTR) continue;
    // Not supported here (or no progress): plain reads and writes.
    buf.resize(size_t(std::min<uint64_t>(n, uint64_t(8) << 20)));
    const uint64_t m = std::min<uint64_t>(n, buf.size());
    from.read_at(off, buf.data(), m);
    to.write(buf.data(), m);
    off += m;
    n -= m;
  }
}

void release_mapped_pages(const void* p, uint64_t n) {
  if (p == nullptr || n == 0) return;
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t a = uintptr_t(p) / page * page;
  const uintptr_t e = (uintptr_t(p) + n + page - 1) / page * page;
  ::madvise(reinterpret_cast<void*>(a), size_t(e - a), MADV_DONTNEED);  // best effort
}

}  // namespace fptq::quant
