#!/usr/bin/env bash
# Sets up a Debian bookworm machine for llm2vec-serve and builds it.
#   - installs every Debian package the project needs (idempotent, non-interactive)
#   - selects OpenBLAS's OpenMP build as the system BLAS (libtorch's CPU GEMM;
#     the reference BLAS is ~20x slower)
#   - fetches the demo model stories260K.gguf into models/
#   - installs the pinned Node clients of tests/clients (npm ci)
#   - configures and builds into build/
# Usage: ./setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")"

log() { echo "setup: $*" >&2; }

PACKAGES=(
  build-essential cmake pkg-config ca-certificates curl
  libtorch-dev libopenblas0-openmp
  libabsl-dev nlohmann-json3-dev libpcre2-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  prometheus-cpp-dev libcivetweb-dev prometheus libsqlite3-dev
  libssl-dev openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all ${#PACKAGES[@]} Debian packages already installed"
fi

# OpenBLAS with OpenMP for libtorch's BLAS calls (matches libtorch's own
# OpenMP threading; the pthread build oversubscribes the cores).
ARCH_DIR=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  alt="$lib-$(basename "$ARCH_DIR")"
  target="$ARCH_DIR/openblas-openmp/$lib"
  if [ -e "$target" ] && [ "$(readlink -f "/etc/alternatives/$alt" 2>/dev/null)" != "$(readlink -f "$target")" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO update-alternatives --set "$alt" "$target" >/dev/null
    log "selected $target for $lib"
  fi
done

# The demo model: a real pretrained TinyStories Llama (260K parameters, MIT).
DEMO=models/stories260K.gguf
SHA=270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d
mkdir -p models
if [ -f "$DEMO" ] && echo "$SHA  $DEMO" | sha256sum -c --quiet 2>/dev/null; then
  log "demo model already at $DEMO"
elif [ -f ../shared/testdata/models/stories260k-gguf/stories260K.gguf ]; then
  cp ../shared/testdata/models/stories260k-gguf/stories260K.gguf "$DEMO"
  log "copied the demo model from ../shared/testdata to $DEMO"
else
  URL=https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf
  log "downloading the demo model from $URL"
  curl -fL --retry 3 -o "$DEMO.part" "$URL"
  echo "$SHA  $DEMO.part" | sha256sum -c --quiet || { log "checksum mismatch for $URL"; exit 1; }
  mv "$DEMO.part" "$DEMO"
  log "downloaded the demo model to $DEMO"
fi

# The third-party clients of tests/clients (the official OpenAI and gRPC
# Node packages, pinned by package-lock.json), for clients_e2e_test: Node
# from Debian unless a node and npm are already there (a NodeSource
# nodejs carries its own npm; Debian's npm package would conflict with it).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing Debian's nodejs and npm"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
# A copy of the lock file marks what node_modules holds.
STAMP=tests/clients/node_modules/.installed-package-lock.json
if cmp -s tests/clients/package-lock.json "$STAMP"; then
  log "client test packages already installed in tests/clients/node_modules"
else
  log "installing the client test packages (npm ci in tests/clients)"
  npm ci --prefix tests/clients --no-audit --no-fund --ignore-scripts --loglevel=error
  cp tests/clients/package-lock.json "$STAMP"
fi

if [ "${1:-}" != "--no-build" ]; then
  log "building into build/ (Release with debug info)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)"
  log "built build/llm2vec, build/llm2vec-server and build/llm2vec-train"
fi
