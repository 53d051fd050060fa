// The DINOv2 teacher: an exponential moving average of the student
// (research/raddino-method.md §2.5). After each optimizer step,
// theta_t <- m theta_t + (1 - m) theta_s over every parameter (backbone and heads),
// matched by name. The teacher never gets gradients and runs in eval mode.
//
// Functions on caller-owned modules; not thread-safe against a concurrent forward of
// the teacher (the trainer updates between steps).
#pragma once

#include <torch/torch.h>

namespace radflow::ml::ssl {

// Preconditions (checked): both modules have the same parameter names and shapes.
// m = 0 copies the student exactly; m = 1 leaves the teacher unchanged.
void ema_update(torch::nn::Module& teacher, const torch::nn::Module& student, double momentum);

// Makes `teacher` an exact copy of `student`'s parameters and buffers, turns its
// gradients off and puts it in eval mode: the teacher's state at iteration 0.
void init_teacher_from_student(torch::nn::Module& teacher, const torch::nn::Module& student);

}  // namespace radflow::ml::ssl
