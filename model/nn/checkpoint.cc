#include "model/nn/checkpoint.h"

#include <ATen/Context.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <mutex>
#include <utility>

namespace llm2vec {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Generator states to replay: the CPU's and, on a GPU, the device's.
struct RngStates {
  at::Tensor cpu, device;
  at::Device device_id = at::kCPU;

  static RngStates Capture(const at::Device& device) {
    RngStates s;
    s.device_id = device;
    s.cpu = Get(at::kCPU);
    if (!device.is_cpu()) s.device = Get(device);
    return s;
  }
  void Restore() const {
    Set(at::kCPU, cpu);
    if (!device_id.is_cpu()) Set(device_id, device);
  }

 private:
  static at::Tensor Get(const at::Device& d) {
    at::Generator g = at::globalContext().defaultGenerator(d);
    std::lock_guard<std::mutex> lock(g.mutex());
    return g.get_state();
  }
  static void Set(const at::Device& d, const at::Tensor& state) {
    at::Generator g = at::globalContext().defaultGenerator(d);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
  }
};

// What backward needs besides the saved tensors.
struct SegmentState : torch::CustomClassHolder {
  Segment segment;
  RngStates rng;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, Segment segment, const at::Tensor& x,
                            at::TensorList params) {
    auto state = c10::make_intrusive<SegmentState>();
    state->rng = RngStates::Capture(x.device());
    at::Tensor y;
    {
      c10::NoGradGuard no_grad;
      y = segment(x);
    }
    state->segment = std::move(segment);
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    variable_list saved = {x};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto state = c10::static_intrusive_pointer_cast<SegmentState>(
        ctx->saved_data["state"].toCapsule());
    variable_list saved = ctx->get_saved_variables();
    // Recompute the segment with the random numbers of the forward pass,
    // then put the generators back where the rest of the step left them.
    const RngStates now = RngStates::Capture(state->rng.device_id);
    state->rng.Restore();
    at::Tensor x = saved[0].detach().requires_grad_(true);
    at::Tensor y;
    {
      c10::AutoGradMode grad(true);
      y = state->segment(x);
    }
    now.Restore();
    variable_list inputs = {x};
    inputs.insert(inputs.end(), saved.begin() + 1, saved.end());
    variable_list grads = torch::autograd::grad({y}, inputs, {grad_outputs[0]},
                                                /*retain_graph=*/false, /*create_graph=*/false,
                                                /*allow_unused=*/true);
    // forward's arguments: segment (no gradient), x, params (one list).
    variable_list out = {at::Tensor(), grads[0]};
    out.insert(out.end(), grads.begin() + 1, grads.end());
    return out;
  }
};

}  // namespace

at::Tensor Checkpoint(Segment segment, const at::Tensor& x, const std::vector<at::Tensor>& params) {
  // As a TensorList, so that autograd sees each parameter as an input.
  return CheckpointFunction::apply(std::move(segment), x, at::TensorList(params));
}

}  // namespace llm2vec
