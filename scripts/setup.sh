#!/usr/bin/env bash
# One-time set-up of a fresh machine: system packages (as root, Debian/Ubuntu), the npm
# dependencies, and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Node.js and npm: Debian's, when there is none at all (a version check follows below).
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
# The tests make a private CA and certificates for the TLS cluster test.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# Sandboxes: the Docker engine, debootstrap for the base image, bubblewrap for Docker-less machines.
[ -x /usr/sbin/dockerd ] || command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need_apt+=(debootstrap)
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
# The native worker (gpu/): a C++17 compiler, cmake and OpenBLAS for its matrix products.
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
[ -e /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h ] || ls /usr/include/*/openblas-openmp/cblas.h >/dev/null 2>&1 || need_apt+=(libopenblas-openmp-dev)
[ -e /usr/include/nlohmann/json.hpp ] || need_apt+=(nlohmann-json3-dev)
# The worker's torch backend: Debian's CPU libtorch (1.13) with c10d's Gloo transport. On a GPU
# machine CMake takes the CUDA libtorch of the installed PyTorch instead (scripts/gpu-check.sh).
[ -e /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake ] || ls /usr/lib/*/cmake/Torch/TorchConfig.cmake >/dev/null 2>&1 || need_apt+=(libtorch-dev)
[ -e /usr/include/gloo/config.h ] || need_apt+=(libgloo-dev)
# The run viewer's test opens its page in Debian's Chromium (playwright-core drives it; no browser download).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_apt[*]}: run as root, or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The Debian package starts a system nats-server where systemd runs; Troupe starts its own.

# Node.js 20 or newer (package.json's engines). Debian 12 ships Node 18: then, as root, the
# official build is taken from the npm registry's node-linux-<arch> package (the registry is
# all a CI machine reaches) and linked into /usr/local/bin, ahead of /usr/bin on PATH.
NODE_FROM_REGISTRY=20.20.2
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  have="$(node --version 2>/dev/null || echo none)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: Node $have found; Troupe needs Node 20 or newer: run this script as root to install Node $NODE_FROM_REGISTRY, or install one yourself (nvm, NodeSource)" >&2
    exit 1
  fi
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "setup: Node $have found and no Node 20 package for $(uname -m): install Node 20 or newer" >&2; exit 1 ;;
  esac
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack "node-linux-$arch@$NODE_FROM_REGISTRY" --silent >/dev/null && tar xzf ./*.tgz)
  rm -rf /usr/local/lib/troupe-node
  mv "$tmp/package" /usr/local/lib/troupe-node
  rm -rf "$tmp"
  ln -sf /usr/local/lib/troupe-node/bin/node /usr/local/bin/node
  hash -r
  if [ "$(node_major)" -lt 20 ]; then
    echo "setup: installed Node $NODE_FROM_REGISTRY into /usr/local/bin, but 'node' on PATH is still $(node --version): put /usr/local/bin first" >&2
    exit 1
  fi
  echo "setup: Node $have was too old; installed Node $(node --version) from the npm registry (node-linux-$arch)"
fi

# Exactly the lock (it lists every platform's optional packages, so npm ci accepts it), then
# one compile; `npm test`'s own tsc is incremental and finds nothing left to do.
npm ci --no-audit --no-fund
npm run build
npm run build:worker

# The Docker engine: started here when none answers (no systemd on CI machines). No bridge and
# no iptables: sandboxes run with --network none anyway. overlay2 where the kernel allows it,
# vfs otherwise (slower, works everywhere).
docker_answers() { node -e "new (require('dockerode'))().ping().then(()=>process.exit(0),()=>process.exit(1))" 2>/dev/null; }
if ! docker_answers; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: no Docker daemon answers; start one (as root: dockerd --storage-driver overlay2 --iptables=false --bridge=none)" >&2
    exit 1
  fi
  mkdir -p .troupe
  for driver in overlay2 vfs; do
    nohup dockerd --storage-driver "$driver" --iptables=false --bridge=none >".troupe/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
    docker_answers && break
    echo "setup: dockerd with $driver did not come up (see .troupe/dockerd.log)" >&2
    pkill -x dockerd || true
    sleep 2
  done
  docker_answers || { echo "setup: the Docker engine does not start; see .troupe/dockerd.log" >&2; exit 1; }
fi

# The base image and the bundled tasks' images (cached: nothing is rebuilt when present).
node driver.js images build --tasks bundled
