#include "model/train/hyperparameters_proto.h"

#include <google/protobuf/descriptor.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace llm2vec {
namespace {

using google::protobuf::FieldDescriptor;
using Value = Hyperparameter::Value;

// The table's field in the message; a missing or mistyped field is a
// programming error (hyperparameters_test checks every row), so it stops
// the process rather than silently dropping a hyperparameter.
const FieldDescriptor* FieldOf(const Hyperparameter& h, const google::protobuf::Message& m) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(h.field);
  if (f == nullptr) {
    std::cerr << "hyperparameter table: " << m.GetTypeName() << " has no field " << h.field
              << std::endl;
    std::abort();
  }
  return f;
}

}  // namespace

absl::Status ApplyHyperparameters(const google::protobuf::Message& message,
                                  TrainerOptions* options) {
  const auto* r = message.GetReflection();
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    const FieldDescriptor* f = FieldOf(h, message);
    if (!r->HasField(message, f)) continue;
    Value value;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64: value = r->GetInt64(message, f); break;
      case FieldDescriptor::CPPTYPE_UINT64: value = r->GetUInt64(message, f); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: value = r->GetDouble(message, f); break;
      case FieldDescriptor::CPPTYPE_BOOL: value = r->GetBool(message, f); break;
      default:
        return absl::InternalError(absl::StrCat("hyperparameters.", h.field, " has no number type"));
    }
    if (auto s = CheckHyperparameter(h, value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("hyperparameters.", s.message()));
    }
    h.set(options, value);
  }
  return absl::OkStatus();
}

void SetHyperparameterField(const Hyperparameter& h, const Value& value,
                            google::protobuf::Message* message) {
  const auto* r = message->GetReflection();
  const FieldDescriptor* f = FieldOf(h, *message);
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      r->SetInt64(message, f, std::visit([](auto v) { return static_cast<int64_t>(v); }, value));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->SetUInt64(message, f, std::visit([](auto v) { return static_cast<uint64_t>(v); }, value));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r->SetDouble(message, f, std::visit([](auto v) { return static_cast<double>(v); }, value));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->SetBool(message, f, std::visit([](auto v) { return static_cast<bool>(v); }, value));
      break;
    default:
      break;
  }
}

void FillHyperparameters(const TrainerOptions& options, google::protobuf::Message* message) {
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    SetHyperparameterField(h, h.get(options), message);
  }
}

}  // namespace llm2vec
