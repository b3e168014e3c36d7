// llm2vec-server: see server_app.h and the README's flag list.
#include "model/nn/tensor_io.h"
#include "server/server_app.h"

int main(int argc, char** argv) {
  llm2vec::UsePassiveOpenMpWaits(argv);
  return llm2vec::RunServer(argc, argv);
}
