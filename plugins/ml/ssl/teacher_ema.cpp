#include "plugins/ml/ssl/teacher_ema.h"

#include <string>

#include "common/check.h"

namespace radflow::ml::ssl {
namespace {

void check_same_layout(const torch::OrderedDict<std::string, torch::Tensor>& t,
                       const torch::OrderedDict<std::string, torch::Tensor>& s, const char* what) {
  RF_CHECK(t.size() == s.size(), std::string("teacher and student differ in ") + what + " count");
  for (const auto& item : s) {
    const torch::Tensor* other = t.find(item.key());
    RF_CHECK(other != nullptr, "teacher lacks " + item.key());
    RF_CHECK(other->sizes() == item.value().sizes(), "teacher and student shapes differ for " + item.key());
  }
}

}  // namespace

void ema_update(torch::nn::Module& teacher, const torch::nn::Module& student, double momentum) {
  torch::NoGradGuard no_grad;
  auto t_params = teacher.named_parameters();
  const auto s_params = student.named_parameters();
  check_same_layout(t_params, s_params, "parameter");
  for (const auto& item : s_params) {
    torch::Tensor& t = t_params[item.key()];
    // The same two ops as DINOv2's _foreach_mul_ / _foreach_add_(alpha=1-m), so m = 0
    // and m = 1 are exact.
    t.mul_(momentum).add_(item.value().detach().to(t.device(), t.scalar_type()), 1.0 - momentum);
  }
}

void init_teacher_from_student(torch::nn::Module& teacher, const torch::nn::Module& student) {
  torch::NoGradGuard no_grad;
  auto t_params = teacher.named_parameters();
  const auto s_params = student.named_parameters();
  check_same_layout(t_params, s_params, "parameter");
  for (const auto& item : s_params) {
    torch::Tensor& t = t_params[item.key()];
    t.copy_(item.value());
    t.set_requires_grad(false);
  }
  auto t_buffers = teacher.named_buffers();
  const auto s_buffers = student.named_buffers();
  check_same_layout(t_buffers, s_buffers, "buffer");
  for (const auto& item : s_buffers) t_buffers[item.key()].copy_(item.value());
  teacher.eval();
}

}  // namespace radflow::ml::ssl
