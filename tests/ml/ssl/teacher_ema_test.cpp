#include "plugins/ml/ssl/teacher_ema.h"

#include <gtest/gtest.h>

#include "plugins/ml/ssl/dino_head.h"
#include "tests/ml/ssl/parameter_snapshot.h"

namespace radflow::ml::ssl {
namespace {

DinoHeadOptions tiny_ema_head() {
  DinoHeadOptions o;
  o.in_dim = 6;
  o.hidden_dim = 8;
  o.bottleneck_dim = 4;
  o.out_dim = 5;
  return o;
}

using testing::snapshot;

TEST(TeacherEma, MomentumZeroCopiesOneKeepsHalfAverages) {
  torch::manual_seed(0);
  DinoHead student(tiny_ema_head()), teacher(tiny_ema_head());
  const auto s = snapshot(*student), t = snapshot(*teacher);

  ema_update(*teacher, *student, 1.0);
  auto now = snapshot(*teacher);
  for (size_t i = 0; i < t.size(); ++i) EXPECT_TRUE(torch::equal(now[i], t[i]));

  ema_update(*teacher, *student, 0.5);
  now = snapshot(*teacher);
  for (size_t i = 0; i < t.size(); ++i) EXPECT_TRUE(torch::allclose(now[i], 0.5 * t[i] + 0.5 * s[i]));

  ema_update(*teacher, *student, 0.0);
  now = snapshot(*teacher);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_TRUE(torch::equal(now[i], s[i]));
}

TEST(TeacherEma, InitCopiesFreezesAndEvals) {
  torch::manual_seed(1);
  DinoHead student(tiny_ema_head()), teacher(tiny_ema_head());
  init_teacher_from_student(*teacher, *student);
  const auto s = snapshot(*student), t = snapshot(*teacher);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_TRUE(torch::equal(s[i], t[i]));
  for (const auto& p : teacher->parameters()) EXPECT_FALSE(p.requires_grad());
  for (const auto& p : student->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_FALSE(teacher->is_training());
  // The EMA never records autograd history on the teacher.
  ema_update(*teacher, *student, 0.9);
  for (const auto& p : teacher->parameters()) EXPECT_FALSE(p.requires_grad());
}

}  // namespace
}  // namespace radflow::ml::ssl
