// `llm2vec eval`: MTEB-style evaluation of embeddings on local files, from
// a local model or a running llm2vec-server. Prints a table of scores to
// stdout, progress and logs to stderr, and the scores as JSON to --output.
//
//   llm2vec eval --task sts|classification|clustering|retrieval --data PATH
//       [--test PATH] (--server HOST:PORT | --model PATH_OR_ID [--adapter DIR]...)
//       [--instruction TEXT] [--pooling MODE] [--batch N] [--output FILE.json]
//       [--seed N] [--max-examples N]
#ifndef LLM2VEC_CLIENT_EVAL_EVAL_COMMAND_H_
#define LLM2VEC_CLIENT_EVAL_EVAL_COMMAND_H_

namespace llm2vec {

// Takes the whole argv (argv[1] is "eval"); returns the exit code: 0, or 2
// after a one-line error on stderr.
int RunEval(int argc, char** argv);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EVAL_EVAL_COMMAND_H_
