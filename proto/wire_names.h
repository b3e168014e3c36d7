// Names of the wire contract's enums as people read them ("succeeded",
// "mntp"), and which job states are final. Shared by the server (messages,
// metrics labels) and the clients (output), so both say the same.
//
// Threading: pure functions.
#ifndef LLM2VEC_PROTO_WIRE_NAMES_H_
#define LLM2VEC_PROTO_WIRE_NAMES_H_

#include <string>

#include "llm2vec/v1/training.pb.h"

namespace llm2vec {

// JOB_STATE_SUCCEEDED -> "succeeded"; a value newer than this build ->
// "unknown_<number>".
std::string JobStateName(v1::JobState state);
// OBJECTIVE_MNTP -> "mntp"; likewise.
std::string ObjectiveName(v1::Objective objective);
// Succeeded, failed, cancelled or interrupted: the job runs no more unless
// resumed.
bool IsFinalJobState(v1::JobState state);

}  // namespace llm2vec

#endif  // LLM2VEC_PROTO_WIRE_NAMES_H_
