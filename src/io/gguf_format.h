// Constants of the GGUF container format shared by the reader and the writer.
#pragma once

#include <cstdint>

namespace fptq::io::gguf {

inline constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr uint32_t kVersion = 3;           // written; 2 and 3 are read
inline constexpr uint64_t kDefaultAlignment = 32;  // when general.alignment is absent
inline constexpr const char* kAlignmentKey = "general.alignment";
inline constexpr uint32_t kMaxDims = 4;
// Longest tensor name the reader accepts; llama.cpp (GGML_MAX_NAME = 64,
// NUL included) accepts one byte less, which is what the writer enforces.
inline constexpr uint64_t kMaxNameBytes = 64;
// The most memory the parsed key/value pairs may take (fptq's in-memory
// form: every integer element 8 bytes, every string 32 plus its heap bytes,
// so a u8 array takes 8x its file size). Real vocabularies take tens of MB.
inline constexpr uint64_t kMaxMetadataMemory = uint64_t(1) << 30;
inline constexpr uint64_t kMaxWrittenNameBytes = 63;
// Smallest encodings, used to reject absurd counts before allocating:
// a KV pair is key length (8) + key (>= 1) + type (4) + value (>= 1);
// a tensor info is name length (8) + name (>= 1) + n_dims (4) + type (4) + offset (8).
inline constexpr uint64_t kMinKvBytes = 14;
inline constexpr uint64_t kMinTensorInfoBytes = 25;

}  // namespace fptq::io::gguf
