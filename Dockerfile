# Multi-stage build of llm2vec-serve on Debian bookworm (CPU libtorch).
#   docker build -t llm2vec-serve .
#   docker run --rm -i llm2vec-serve encode --model /models/stories260K.gguf < texts.txt
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
# setup.sh installs the build dependencies, fetches the demo model and builds.
RUN ./setup.sh && strip build/llm2vec

FROM debian:bookworm-slim AS runtime
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libabsl20220623 libpcre2-8-0 ca-certificates \
 && for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do \
      update-alternatives --set $lib-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/$lib; \
    done \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /home/llm2vec --create-home llm2vec
COPY --from=build /src/build/llm2vec /usr/local/bin/llm2vec
COPY --from=build /src/models/stories260K.gguf /models/stories260K.gguf
USER llm2vec
ENV HF_HOME=/home/llm2vec/.cache/huggingface
ENTRYPOINT ["/usr/local/bin/llm2vec"]
CMD ["--help"]
