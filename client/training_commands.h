// The `llm2vec` subcommands for adapter training jobs on a running
// llm2vec-server (llm2vec.v1.TrainingService):
//
//   llm2vec train --server HOST:PORT --objective mntp --data PATH --output NAME
//   llm2vec jobs list|get ID|cancel ID|resume ID|watch ID --server HOST:PORT
//
// Each takes the whole argv (argv[1] is the command) and returns the exit
// code: 0 done (train and jobs watch: the job SUCCEEDED, or Ctrl-C detached
// the watch); 1 a job that ended FAILED, CANCELLED or INTERRUPTED, or an RPC
// error (printed as "llm2vec: error: CODE: message"); 2 a usage error.
// Results go to stdout (one JSON line per job, or a table); progress and
// messages go to stderr.
#ifndef LLM2VEC_CLIENT_TRAINING_COMMANDS_H_
#define LLM2VEC_CLIENT_TRAINING_COMMANDS_H_

#include <nlohmann/json.hpp>

#include "llm2vec/v1/training.pb.h"

namespace llm2vec {

int RunRemoteTrain(int argc, char** argv);
int RunJobs(int argc, char** argv);

// A job as the commands print it: id, state and objective in lower case
// ("succeeded", "mntp"), the request's fields, progress, times (Unix ms, 0:
// not yet), error, checkpoint, adapter, resumes, and "hyperparameters" with
// the fields the server set (the values the job uses).
nlohmann::ordered_json JobToJson(const v1::Job& job);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_TRAINING_COMMANDS_H_
