// The hyperparameter table (hyperparameters.h) against the wire contract's
// llm2vec.v1.Hyperparameters, by protobuf reflection on the field names the
// table gives: one mapping for the server (requests in, GetJob's view out)
// and `llm2vec train` (flags into a request). Only libprotobuf's generic
// Message API is used; model/ includes nothing of gRPC or the generated
// contract. Built only with LLM2VEC_WITH_GRPC (library llm2vec_train_proto).
//
// Threading: pure functions.
#ifndef LLM2VEC_MODEL_TRAIN_HYPERPARAMETERS_PROTO_H_
#define LLM2VEC_MODEL_TRAIN_HYPERPARAMETERS_PROTO_H_

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "model/train/hyperparameters.h"

namespace llm2vec {

// The fields set in `message` (an llm2vec.v1.Hyperparameters) applied to
// *options, each checked against its range: InvalidArgument
// "hyperparameters.<field> <value> is outside <range>".
absl::Status ApplyHyperparameters(const google::protobuf::Message& message,
                                  TrainerOptions* options);

// Every hyperparameter of `options` set in `message` (the values a job
// uses, for GetJob).
void FillHyperparameters(const TrainerOptions& options, google::protobuf::Message* message);

// One hyperparameter set in `message`.
void SetHyperparameterField(const Hyperparameter& h, const Hyperparameter::Value& value,
                            google::protobuf::Message* message);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_HYPERPARAMETERS_PROTO_H_
