// The `llm2vec` subcommands that talk to a running llm2vec-server:
// embed, similarity, info, tokenize --server, and the bench load generator.
// Each takes the whole argv (argv[1] is the command) and returns the exit
// code; results go to stdout, errors to stderr.
#ifndef LLM2VEC_CLIENT_REMOTE_COMMANDS_H_
#define LLM2VEC_CLIENT_REMOTE_COMMANDS_H_

#include <string>
#include <vector>

#include "client/server_connection.h"
#include "common/text_input.h"

namespace llm2vec {

int RunRemoteEmbed(int argc, char** argv);
int RunRemoteSimilarity(int argc, char** argv);
int RunRemoteInfo(int argc, char** argv);
// llm2vec adapters list|load NAME PATH|unload NAME.
int RunAdapters(int argc, char** argv);
int RunRemoteTokenize(const ServerConnection& server, const std::vector<TextRecord>& records,
                      bool add_special);
int RunBench(int argc, char** argv);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_REMOTE_COMMANDS_H_
