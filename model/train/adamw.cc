#include "model/train/adamw.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace llm2vec {

AdamW::AdamW(std::vector<at::Tensor> params, const Options& options)
    : params_(std::move(params)), options_(options) {
  for (const at::Tensor& p : params_) {
    state_.exp_avg.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
    state_.exp_avg_sq.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
    state_.step.push_back(0);
  }
}

void AdamW::Step(double lr) {
  c10::NoGradGuard no_grad;
  const double b1 = options_.beta1, b2 = options_.beta2;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    const int64_t step = ++state_.step[i];
    // Decoupled weight decay.
    if (options_.weight_decay != 0) p.mul_(1 - lr * options_.weight_decay);
    // Moments: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2.
    at::Tensor& m = state_.exp_avg[i];
    at::Tensor& v = state_.exp_avg_sq[i];
    m.lerp_(g, 1 - b1);
    v.mul_(b2).addcmul_(g, g, 1 - b2);
    // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    const double bias1 = 1 - std::pow(b1, static_cast<double>(step));
    const double bias2 = 1 - std::pow(b2, static_cast<double>(step));
    at::Tensor denom = (v.sqrt() / std::sqrt(bias2)).add_(options_.eps);
    p.addcdiv_(m, denom, -lr / bias1);
  }
}

void AdamW::ZeroGrad() {
  for (at::Tensor& p : params_) {
    if (p.grad().defined()) p.mutable_grad().reset();
  }
}

absl::Status AdamW::LoadState(const State& state) {
  const size_t n = params_.size();
  if (state.exp_avg.size() != n || state.exp_avg_sq.size() != n || state.step.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("optimizer state holds ", state.exp_avg.size(),
                                                   " tensors but there are ", n, " parameters"));
  }
  State copy;
  for (size_t i = 0; i < n; ++i) {
    for (const at::Tensor* t : {&state.exp_avg[i], &state.exp_avg_sq[i]}) {
      if (!t->defined() || t->sizes() != params_[i].sizes()) {
        return absl::InvalidArgumentError(
            absl::StrCat("optimizer state tensor ", i, " has shape ",
                         t->defined() ? c10::str(t->sizes()) : std::string("(none)"),
                         " but its parameter has ", c10::str(params_[i].sizes())));
      }
    }
    copy.exp_avg.push_back(state.exp_avg[i].to(params_[i].device(), params_[i].scalar_type()).clone());
    copy.exp_avg_sq.push_back(
        state.exp_avg_sq[i].to(params_[i].device(), params_[i].scalar_type()).clone());
    copy.step.push_back(state.step[i]);
  }
  state_ = std::move(copy);
  return absl::OkStatus();
}

double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (const at::Tensor& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(at::kDouble));
  }
  if (norms.empty()) return 0.0;
  const double total = at::stack(norms).norm(2).item<double>();
  if (max_norm > 0) {
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1) {
      for (const at::Tensor& p : params) {
        if (p.grad().defined()) p.grad().mul_(coef);
      }
    }
  }
  return total;
}

}  // namespace llm2vec
