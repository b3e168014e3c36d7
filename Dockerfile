# Multi-stage build of llm2vec-serve on Debian bookworm (CPU libtorch).
#   docker build -t llm2vec-serve .
#   docker run --rm -p 50051:50051 -p 8080:8080 -p 9090:9090 llm2vec-serve
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
# setup.sh installs the build dependencies, fetches the demo model and builds.
RUN ./setup.sh && strip build/llm2vec build/llm2vec-server build/llm2vec-train

FROM debian:bookworm-slim AS runtime
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libabsl20220623 libpcre2-8-0 libgrpc++1.51 \
      libprotobuf32 libcivetweb1 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libcurl4 libsqlite3-0 libssl3 libssl-dev ca-certificates curl \
 && for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do \
      update-alternatives --set $lib-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/$lib; \
    done \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /home/llm2vec --create-home llm2vec
COPY --from=build /src/build/llm2vec /src/build/llm2vec-server /src/build/llm2vec-train /usr/local/bin/
# HTTPS: civetweb's "libssl.so" (server/http/civetweb_libssl/libssl_shim.cc
# says why), found through the binaries' RUNPATH ($ORIGIN/civetweb-tls);
# civetweb also opens "libcrypto.so", the symlink libssl-dev installs.
COPY --from=build /src/build/civetweb-tls/libssl.so /usr/local/bin/civetweb-tls/libssl.so
COPY --from=build /src/models/stories260K.gguf /models/stories260K.gguf
USER llm2vec
# Every flag can also be set as LLM2VEC_<FLAG>. The demo listens on all
# interfaces without keys; for anything else mount a key file and
# certificates and set LLM2VEC_API_KEYS, LLM2VEC_TLS_CERT and
# LLM2VEC_TLS_KEY instead of LLM2VEC_ALLOW_UNAUTHENTICATED (README,
# "Security and operations"; deploy/kubernetes does).
ENV HF_HOME=/home/llm2vec/.cache/huggingface \
    LLM2VEC_HOST=0.0.0.0 \
    LLM2VEC_ALLOW_UNAUTHENTICATED=1 \
    LLM2VEC_MODEL=/models/stories260K.gguf \
    LLM2VEC_STATE_DIR=/home/llm2vec/state
EXPOSE 50051 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/llm2vec-server"]
