#include "io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace troupe {
namespace fs = std::filesystem;
using nlohmann::json;

static float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as PyTorch does; NaN stays NaN.
static uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) u = sign;
    else {  // subnormal: renormalize
      int e = -1;
      uint32_t m = man;
      do { e++; m <<= 1; } while (!(m & 0x400));
      u = sign | uint32_t(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
    }
  } else if (exp == 31) u = sign | 0x7f800000 | man << 13;
  else u = sign | (exp + 127 - 15) << 23 | man << 13;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path + ": cannot open (" + std::strerror(errno) + ")");
  const auto file_size = fs::file_size(path);
  uint64_t hlen = 0;
  if (!in.read(reinterpret_cast<char*>(&hlen), 8) || hlen > file_size - 8) throw FileError(path + ": not a safetensors file (bad header length)");
  std::string htext(hlen, '\0');
  in.read(htext.data(), hlen);
  json header;
  try {
    header = json::parse(htext);
  } catch (const std::exception& e) {
    throw FileError(path + ": not a safetensors file (header is not JSON: " + e.what() + ")");
  }
  const uint64_t base = 8 + hlen;
  std::map<std::string, Tensor> out;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string dtype = info.at("dtype");
    std::vector<int64_t> shape = info.at("shape").get<std::vector<int64_t>>();
    const auto off = info.at("data_offsets").get<std::vector<uint64_t>>();
    const size_t n = Tensor::count(shape);
    const size_t width = dtype == "F32" ? 4 : (dtype == "BF16" || dtype == "F16") ? 2 : 0;
    if (!width) throw FileError(path + ": tensor " + name + " has dtype " + dtype + "; F32, BF16 and F16 are supported");
    if (off.size() != 2 || off[1] - off[0] != n * width || base + off[1] > file_size) {
      throw FileError(path + ": tensor " + name + " has data_offsets that do not match its shape or the file");
    }
    Tensor t(shape);
    in.seekg(std::streamoff(base + off[0]));
    if (width == 4) {
      in.read(reinterpret_cast<char*>(t.ptr()), n * 4);
    } else {
      std::vector<uint16_t> raw(n);
      in.read(reinterpret_cast<char*>(raw.data()), n * 2);
      for (size_t i = 0; i < n; i++) t.data[i] = dtype == "BF16" ? bf16_to_f32(raw[i]) : f16_to_f32(raw[i]);
    }
    if (!in) throw FileError(path + ": short read in tensor " + name);
    out.emplace(name, std::move(t));
  }
  return out;
}

static void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw FileError(path + ": cannot open to sync (" + std::strerror(errno) + ")");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw FileError(path + ": fsync failed (" + std::strerror(errno) + ")");
}

// Writes via `fill(stream)` to a temporary file, then fsync + rename + fsync of the folder.
template <class Fill>
static void write_atomic(const std::string& path, Fill fill) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string tmp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw FileError(tmp + ": cannot create (" + std::strerror(errno) + ")");
      fill(out);
      out.flush();
      if (!out) throw FileError(tmp + ": write failed (disk full?)");
    }
    fsync_path(tmp, O_RDONLY);
    fs::rename(tmp, target);
    fsync_path(dir.string(), O_RDONLY | O_DIRECTORY);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

namespace {
using Named = std::vector<std::pair<std::string, const Tensor*>>;

void write_named(const std::string& path, const Named& tensors, const std::string& dtype, const std::map<std::string, std::string>& metadata);
}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors, const std::string& dtype,
                       const std::map<std::string, std::string>& metadata) {
  Named all;
  for (const auto& [name, t] : tensors) all.emplace_back(name, &t);
  write_named(path, all, dtype, metadata);
}

std::vector<std::string> write_sharded_checkpoint(const std::string& dir, const std::map<std::string, Tensor>& tensors, const std::string& dtype,
                                                  uint64_t max_shard_bytes) {
  const size_t width = dtype == "BF16" ? 2 : 4;
  std::vector<Named> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = t.size() * width;
    if (!shards.back().empty() && in_shard + bytes > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().emplace_back(name, &t);
    in_shard += bytes;
    total += bytes;
  }
  std::vector<std::string> files;
  json weight_map = json::object();
  for (size_t k = 0; k < shards.size(); k++) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", k + 1, shards.size());
    write_named(dir + "/" + file, shards[k], dtype, {{"format", "pt"}});
    for (const auto& [name, _] : shards[k]) weight_map[name] = file;
    files.push_back(file);
  }
  write_file_atomic(dir + "/model.safetensors.index.json", json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2));
  return files;
}

namespace {
void write_named(const std::string& path, const Named& tensors, const std::string& dtype, const std::map<std::string, std::string>& metadata) {
  if (dtype != "F32" && dtype != "BF16") throw FileError("safetensors: can save F32 or BF16, not " + dtype);
  const size_t width = dtype == "F32" ? 4 : 2;
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t at = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype}, {"shape", t->shape}, {"data_offsets", {at, at + t->size() * width}}};
    at += t->size() * width;
  }
  std::string htext = header.dump();
  htext.append((8 - htext.size() % 8) % 8, ' ');  // the spec pads the header to 8 bytes
  write_atomic(path, [&](std::ofstream& out) {
    const uint64_t hlen = htext.size();
    out.write(reinterpret_cast<const char*>(&hlen), 8);
    out.write(htext.data(), htext.size());
    for (const auto& [_, t] : tensors) {
      if (width == 4) {
        out.write(reinterpret_cast<const char*>(t->ptr()), t->size() * 4);
      } else {
        std::vector<uint16_t> raw(t->size());
        for (size_t i = 0; i < t->size(); i++) raw[i] = f32_to_bf16(t->data[i]);
        out.write(reinterpret_cast<const char*>(raw.data()), raw.size() * 2);
      }
    }
  });
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& text) {
  write_atomic(path, [&](std::ofstream& out) { out.write(text.data(), text.size()); });
}

std::map<std::string, Tensor> read_checkpoint_tensors(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw FileError(dir + ": no such checkpoint folder");
  if (fs::exists(d / "model.safetensors")) return read_safetensors((d / "model.safetensors").string());
  const fs::path index = d / "model.safetensors.index.json";
  if (!fs::exists(index)) throw FileError(dir + ": neither model.safetensors nor model.safetensors.index.json is there");
  std::ifstream in(index);
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    throw FileError(index.string() + ": not JSON (" + e.what() + ")");
  }
  std::map<std::string, Tensor> out;
  std::map<std::string, bool> shards;
  for (auto& [_, file] : j.at("weight_map").items()) shards[file.get<std::string>()] = true;
  for (auto& [file, __] : shards) out.merge(read_safetensors((d / file).string()));
  return out;
}

}  // namespace troupe
