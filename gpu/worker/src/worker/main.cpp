// troupe-worker [--backend reference|torch] [--device cpu|cuda|auto] [--precision auto|fp32|bf16]
//               [--checkpoint on|off] [--logits-chunk ROWS]
// Serves protocol.h frames on stdin/stdout until stdin closes or a shutdown op. A bad request
// gets an error reply and the worker carries on; only a torn stream (the frame boundaries are
// lost) or bad arguments end it, with exit code 2.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "io/safetensors.h"
#include "model/config.h"
#include "worker/ops.h"

using namespace troupe;
using namespace troupe::worker;

static void reply_error(const nlohmann::json& id, const std::string& code, const std::string& message) {
  write_frame(1, {{"id", id}, {"ok", false}, {"error", {{"code", code}, {"message", message}}}}, {});
}

// The flags, checked before any frame is read: a worker that cannot run as asked says so once
// and exits, rather than failing every request.
static bool parse_args(int argc, char** argv, BackendOptions& o) {
  for (int i = 1; i < argc; i++) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "troupe-worker: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[++i];
    if (flag == "--backend") o.backend = value;
    else if (flag == "--device") o.device = value;
    else if (flag == "--precision" && (value == "auto" || value == "fp32" || value == "bf16")) o.precision = value;
    else if (flag == "--checkpoint" && (value == "on" || value == "off")) o.checkpoint = value == "on";
    else if (flag == "--logits-chunk" && std::atoll(value.c_str()) > 0) o.logits_chunk = std::atoll(value.c_str());
    else {
      std::fprintf(stderr, "troupe-worker: bad flag %s %s (see the usage at the top of main.cpp)\n", flag.c_str(), value.c_str());
      return false;
    }
  }
  try {
    resolve_backend(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-worker: %s\n", e.what());
    return false;
  }
  return true;
}

int main(int argc, char** argv) {
  BackendOptions opts;
  if (!parse_args(argc, argv, opts)) return 2;
  // Keep freed activation buffers in the heap for the next step instead of returning them to
  // the kernel: fresh pages cost a fault each, and a training step allocates hundreds of MB.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  Worker w(opts);
  for (;;) {
    Frame req;
    nlohmann::json id;
    try {
      if (!read_frame(0, req)) return 0;
      id = req.header.value("id", nlohmann::json());
      Reply r = w.handle(req);
      write_frame(1, {{"id", id}, {"ok", true}, {"result", r.result}}, r.tensors);
      if (w.shutting_down()) return 0;
    } catch (const RequestError& e) {
      reply_error(req.header.value("id", nlohmann::json()), e.code, e.what());
    } catch (const ShapeError& e) {
      reply_error(id, "bad_request", e.what());
    } catch (const ConfigError& e) {
      reply_error(id, "bad_config", e.what());
    } catch (const FileError& e) {
      reply_error(id, "file", e.what());
    } catch (const std::invalid_argument& e) {
      reply_error(id, "bad_request", e.what());
    } catch (const nlohmann::json::exception& e) {
      if (req.header.is_null()) {
        std::fprintf(stderr, "troupe-worker: unreadable frame header (%s)\n", e.what());
        return 2;
      }
      reply_error(id, "bad_request", std::string("malformed arguments: ") + e.what());
    } catch (const std::bad_alloc&) {
      reply_error(id, "out_of_memory", "the request needs more memory than the worker can get");
    } catch (const std::exception& e) {
      const std::string what = e.what();
      if (what.rfind("input ended", 0) == 0) {
        std::fprintf(stderr, "troupe-worker: %s\n", e.what());
        return 2;
      }
      reply_error(id, what.rfind("collective", 0) == 0 ? "collective" : "internal", what);
    }
  }
}
