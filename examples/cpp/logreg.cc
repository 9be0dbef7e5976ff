// Logistic regression trained with minibatch SGD on generated data, logged
// through the vigil C++ SDK.
//
//   VIGIL_SERVER=http://127.0.0.1:7070 ./vigil_logreg_example [epochs]
//   VIGIL_MODE=offline ./vigil_logreg_example      # then: vigil sync ./vigil-offline
//
// The data: two Gaussian classes in 16 dimensions whose means differ along a
// random direction, with 5% of labels flipped, so the loss plateaus above 0.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include <vigil/vigil.h>

namespace {

constexpr int kDim = 16;

struct Example {
  std::vector<double> x;
  int y;
};

// `direction`: half the difference between the class means (shared by the
// training and validation sets).
std::vector<Example> MakeData(int n, const std::vector<double>& direction, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Example> data(n);
  for (Example& e : data) {
    e.y = unit(rng) < 0.5 ? 1 : 0;
    e.x.resize(kDim);
    for (int j = 0; j < kDim; ++j) e.x[j] = normal(rng) + (e.y ? direction[j] : -direction[j]);
    if (unit(rng) < 0.05) e.y = 1 - e.y;  // label noise
  }
  return data;
}

double Sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

struct Model {
  std::vector<double> w = std::vector<double>(kDim, 0.0);
  double b = 0;
  double Predict(const std::vector<double>& x) const {
    return Sigmoid(std::inner_product(x.begin(), x.end(), w.begin(), b));
  }
};

// Mean log loss and accuracy over `data`.
std::pair<double, double> Evaluate(const Model& m, const std::vector<Example>& data) {
  double loss = 0, correct = 0;
  for (const Example& e : data) {
    double p = std::clamp(m.Predict(e.x), 1e-12, 1 - 1e-12);
    loss -= e.y ? std::log(p) : std::log(1 - p);
    correct += (p >= 0.5) == (e.y == 1);
  }
  return {loss / data.size(), correct / data.size()};
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 20;
  const int batch = 32;
  const double lr0 = 0.1;
  std::mt19937_64 rng(42);
  std::vector<double> direction(kDim);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double& d : direction) d = normal(rng) * 0.6;
  std::vector<Example> train = MakeData(4000, direction, rng);
  std::vector<Example> val = MakeData(1000, direction, rng);

  vigil::Run run = vigil::init({
      .project = "examples",
      .name = "cpp-logreg",
      .config = {{"lr", lr0},
                 {"batch_size", batch},
                 {"epochs", epochs},
                 {"dim", kDim},
                 {"optimizer", "sgd"}},
      .tags = {"cpp", "example"},
  });
  if (!run.ok()) return 1;  // init printed why
  std::printf("run %s\n", run.id().c_str());

  Model model;
  int64_t step = 0;
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  double best_val = 1e9;
  for (int epoch = 0; epoch < epochs && !run.should_stop(); ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const double lr = lr0 / (1.0 + 0.1 * epoch);  // 1/t decay
    for (size_t start = 0; start + batch <= order.size(); start += batch, ++step) {
      while (run.should_pause() && !run.should_stop()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::vector<double> grad(kDim, 0.0);
      double grad_b = 0, loss = 0;
      for (int k = 0; k < batch; ++k) {
        const Example& e = train[order[start + k]];
        double p = model.Predict(e.x);
        double err = p - e.y;
        for (int j = 0; j < kDim; ++j) grad[j] += err * e.x[j] / batch;
        grad_b += err / batch;
        p = std::clamp(p, 1e-12, 1 - 1e-12);
        loss -= (e.y ? std::log(p) : std::log(1 - p)) / batch;
      }
      double norm = std::sqrt(std::inner_product(grad.begin(), grad.end(), grad.begin(), 0.0) +
                              grad_b * grad_b);
      for (int j = 0; j < kDim; ++j) model.w[j] -= lr * grad[j];
      model.b -= lr * grad_b;
      run.log({{"train/loss", loss}, {"train/grad_norm", norm}, {"train/lr", lr}}, step);
    }
    auto [train_loss, train_acc] = Evaluate(model, train);
    auto [val_loss, val_acc] = Evaluate(model, val);
    run.log({{"val/loss", val_loss},
             {"val/acc", val_acc},
             {"train/acc", train_acc},
             {"train/epoch_loss", train_loss},
             {"epoch", static_cast<double>(epoch)}},
            step);
    best_val = std::min(best_val, val_loss);
    std::printf("epoch %2d  step %5lld  train %.4f  val %.4f  acc %.3f\n", epoch,
                static_cast<long long>(step), train_loss, val_loss, val_acc);
  }
  run.set_summary({{"best_val_loss", best_val}, {"steps", step}});
  bool ok = run.finish(run.should_stop() ? "failed" : "finished");
  vigil::Stats s = run.stats();
  std::printf("logged %llu points, delivered %llu\n", static_cast<unsigned long long>(s.logged),
              static_cast<unsigned long long>(s.delivered));
  return ok ? 0 : 1;
}
