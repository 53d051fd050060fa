// The report decoder and its trainer in-process, on a two-report toy task: shapes,
// training lowers the loss, the kept epoch is the best on validation, and greedy and
// beam decoding both reproduce the report the patches determine.
#include <gtest/gtest.h>

#include <algorithm>

#include "plugins/report-gen/report_decoder.h"
#include "plugins/report-gen/report_trainer.h"
#include "plugins/report-gen/report_vocabulary.h"

namespace radflow::report_gen {
namespace {

const std::string kReports[2] = {"Heart size is normal. No pleural effusion.",
                                 "The heart is enlarged. Small left pleural effusion."};

struct Toy {
  torch::Tensor patches;
  std::vector<int> kind;
};

// Report kind k is readable from channel 0 of every patch (sign), the rest is noise.
Toy toy(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  Toy t;
  t.patches = torch::randn({n, 4, 8}, gen) * 0.3;
  for (int64_t i = 0; i < n; ++i) {
    t.kind.push_back(static_cast<int>(i % 2));
    t.patches[i].select(1, 0).add_(t.kind.back() ? 1.0 : -1.0);
  }
  return t;
}

std::vector<std::vector<int64_t>> encode(const ReportVocabulary& vocab, const Toy& t) {
  std::vector<std::vector<int64_t>> ids;
  for (int k : t.kind) ids.push_back(vocab.encode(kReports[k], 32));
  return ids;
}

ReportDecoderOptions tiny(const ReportVocabulary& vocab) {
  ReportDecoderOptions o;
  o.input_dim = 8;
  o.patch_count = 4;
  o.vocab_size = vocab.size();
  o.max_length = 32;
  o.d_model = 32;
  o.heads = 2;
  o.layers = 1;
  o.feedforward = 64;
  o.dropout = 0.0;
  return o;
}

TEST(ReportDecoderTest, LogitsHaveOneRowPerInputPosition) {
  auto vocab = ReportVocabulary::build({kReports[0], kReports[1]}, 1);
  torch::manual_seed(0);
  ReportDecoder model(tiny(vocab));
  auto ids = pad_ids({vocab.encode(kReports[0], 32), vocab.encode(kReports[1], 32)});
  auto logits = model->forward(toy(2, 1).patches, ids);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, ids.size(1), vocab.size()}));
  // Causality: changing a later word leaves earlier positions' logits unchanged.
  model->eval();
  auto patches = toy(2, 1).patches;
  auto changed = ids.clone();
  changed[0][5] = vocab.id("effusion");
  auto a = model->forward(patches, ids), b = model->forward(patches, changed);
  EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 5), b.narrow(1, 0, 5), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(a.narrow(1, 5, 1), b.narrow(1, 5, 1)));
}

TEST(ReportDecoderTest, TrainingLearnsTheReportThePatchesDetermine) {
  auto vocab = ReportVocabulary::build({kReports[0], kReports[1]}, 1);
  Toy train = toy(64, 2), val = toy(16, 3), test = toy(8, 4);
  torch::manual_seed(0);
  ReportDecoder model(tiny(vocab));
  const double before = teacher_forced_loss(model, val.patches, encode(vocab, val), 16);
  ReportTrainOptions options;
  options.epochs = 25;
  options.batch_size = 16;
  options.learning_rate = 3e-3;
  int calls = 0;
  auto result = train_report_decoder(model, train.patches, encode(vocab, train), val.patches,
                                     encode(vocab, val), options, [&](int, double, double) {
                                       ++calls;
                                       return true;
                                     });
  EXPECT_EQ(calls, 25);
  ASSERT_EQ(result.val_loss.size(), 25u);
  EXPECT_EQ(result.val_loss[result.best_epoch],
            *std::min_element(result.val_loss.begin(), result.val_loss.end()));
  // The restored parameters are the best epoch's.
  EXPECT_NEAR(teacher_forced_loss(model, val.patches, encode(vocab, val), 16), result.val_loss[result.best_epoch],
              1e-5);
  EXPECT_LT(result.val_loss[result.best_epoch], before / 10);
  for (int64_t beam : {1, 3}) {
    auto generated = model->generate(test.patches, beam);
    ASSERT_EQ(generated.size(), 8u);
    for (size_t i = 0; i < generated.size(); ++i) {
      EXPECT_EQ(vocab.decode(generated[i]), vocab.decode(vocab.encode(kReports[test.kind[i]], 32)))
          << "beam " << beam << ", sample " << i;
      for (int64_t id : generated[i]) EXPECT_GE(id, ReportVocabulary::kSpecialCount);
    }
  }
}

TEST(ReportDecoderTest, StopsEarlyWhenTheCallbackSaysSoAndCapsTheLength) {
  auto vocab = ReportVocabulary::build({kReports[0], kReports[1]}, 1);
  Toy train = toy(8, 5);
  torch::manual_seed(0);
  auto options = tiny(vocab);
  options.max_length = 6;
  ReportDecoder model(options);
  ReportTrainOptions train_options;
  train_options.epochs = 10;
  std::vector<std::vector<int64_t>> ids;
  for (int k : train.kind) ids.push_back(vocab.encode(kReports[k], 6));
  auto result = train_report_decoder(model, train.patches, ids, torch::Tensor(), {}, train_options,
                                     [](int epoch, double, double) { return epoch < 1; });
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.train_loss.size(), 2u);
  EXPECT_TRUE(result.val_loss.empty());
  // Untrained-ish decoders may never emit <eos>: output stops at max_length - 1 words.
  for (int64_t beam : {1, 4}) {
    for (const auto& g : model->generate(train.patches, beam)) EXPECT_LE(g.size(), 5u);
  }
}

}  // namespace
}  // namespace radflow::report_gen
