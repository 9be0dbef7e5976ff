#include "analysis/distributed/job_monitor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <fmt/format.h>

namespace vigil::analysis {
namespace {

// A simulated synchronous job: every rank logs time/data, time/forward and
// time/comm per step; the comm phase absorbs the wait for the slowest rank,
// as an all-reduce does. Times advance by the slowest rank's step.
class SimJob {
 public:
  SimJob(int64_t ranks, int64_t ranks_per_node, uint32_t seed = 7)
      : monitor(ranks), n_(ranks), per_node_(ranks_per_node), rng_(seed), slow_(ranks, 1.0) {
    for (int64_t r = 0; r < n_; ++r) monitor.OnJoin(r, Node(r), now);
  }
  std::string Node(int64_t r) const { return fmt::format("n{}", r / per_node_); }

  // Runs `steps` steps; each rank sends its points every `flush` steps.
  void Run(int64_t steps, int64_t flush = 10) {
    std::normal_distribution<double> noise(0, 0.03);
    for (int64_t k = 0; k < steps; ++k, ++step_) {
      std::vector<double> data(n_), fwd(n_);
      double slowest = 0;
      for (int64_t r = 0; r < n_; ++r) {
        data[r] = 0.010 * slow_data_[r] * (1 + noise(rng_));
        fwd[r] = 0.030 * slow_[r] * (1 + noise(rng_));
        slowest = std::max(slowest, data[r] + fwd[r]);
      }
      for (int64_t r = 0; r < n_; ++r) {
        pending_[r].push_back({step_, data[r], fwd[r], slowest - data[r] - fwd[r] + 0.002});
      }
      now += static_cast<int64_t>((slowest + 0.002) * 1000) + 1;
      if ((k + 1) % flush == 0) Flush();
      if ((k + 1) % 50 == 0) Beat("comm", 1);
    }
    Flush();
  }
  void Flush() {
    for (int64_t r = 0; r < n_; ++r) {
      if (pending_[r].empty()) continue;
      std::vector<int64_t> steps;
      std::vector<double> d, f, c, loss;
      for (const auto& p : pending_[r]) {
        steps.push_back(p.step);
        d.push_back(p.data);
        f.push_back(p.fwd);
        c.push_back(p.comm);
        loss.push_back(loss_value(r, p.step));
      }
      monitor.OnRankPoints(r, Node(r), "time/data", steps, d, now);
      monitor.OnRankPoints(r, Node(r), "time/forward", steps, f, now);
      monitor.OnRankPoints(r, Node(r), "time/comm", steps, c, now);
      monitor.OnRankPoints(r, Node(r), "train/loss", steps, loss, now);
      pending_[r].clear();
    }
  }
  void Beat(const std::string& phase, int64_t phase_ms) {
    for (int64_t r = 0; r < n_; ++r) {
      RankBeat b;
      b.step = step_ - 1;
      b.phase = phase;
      b.phase_ms = phase_ms;
      monitor.OnHeartbeat(r, b, now);
    }
  }
  std::vector<JobFinding> Evaluate(const DistributedParams& p) {
    auto f = monitor.Evaluate(now, p);
    all.insert(all.end(), f.begin(), f.end());
    return f;
  }
  void SetSlow(int64_t r, double factor) { slow_[r] = factor; }
  void SetSlowData(int64_t r, double factor) { slow_data_[r] = factor; }
  int64_t step() const { return step_; }

  std::function<double(int64_t, int64_t)> loss_value = [](int64_t, int64_t step) {
    return 2.0 / std::sqrt(1.0 + static_cast<double>(step));
  };
  JobMonitor monitor;
  int64_t now = 1'000'000;
  std::vector<JobFinding> all;

 private:
  struct P {
    int64_t step;
    double data, fwd, comm;
  };
  int64_t n_, per_node_;
  std::mt19937 rng_;
  std::vector<double> slow_;
  std::vector<double> slow_data_ = std::vector<double>(1024, 1.0);
  std::vector<std::vector<P>> pending_ = std::vector<std::vector<P>>(1024);
  int64_t step_ = 0;
};

DistributedParams Fast() {
  DistributedParams p;
  p.hang_after_ms = 5'000;
  p.straggler_window = 20;
  p.straggler_for_steps = 40;
  return p;
}

int Count(const std::vector<JobFinding>& fs, FindingKind kind, Transition t) {
  int n = 0;
  for (const auto& f : fs) n += (f.kind == kind && f.transition == t) ? 1 : 0;
  return n;
}

TEST(CommPhase, NamesThatAreCommunication) {
  EXPECT_TRUE(IsCommPhase("comm"));
  EXPECT_TRUE(IsCommPhase("comm_grad"));
  EXPECT_TRUE(IsCommPhase("allreduce"));
  EXPECT_TRUE(IsCommPhase("barrier"));
  EXPECT_FALSE(IsCommPhase("forward"));
  EXPECT_FALSE(IsCommPhase("data"));
  EXPECT_TRUE(IsCommPhase("communicate"));  // comm*
}

TEST(CrossRankMetric, LossNamesOnly) {
  EXPECT_TRUE(IsCrossRankMetric("train/loss"));
  EXPECT_TRUE(IsCrossRankMetric("val_loss"));
  EXPECT_FALSE(IsCrossRankMetric("time/loss_fn"));
  EXPECT_FALSE(IsCrossRankMetric("train/accuracy"));
}

TEST(JobMonitor, CleanJobRaisesNothing) {
  SimJob job(64, 8);
  const DistributedParams p = Fast();
  for (int i = 0; i < 60; ++i) {
    job.Run(50);
    job.Evaluate(p);
  }
  EXPECT_TRUE(job.all.empty()) << job.all.front().message;
  JobSnapshot s = job.monitor.Snapshot(job.now, p);
  EXPECT_EQ(s.known, 64);
  EXPECT_EQ(s.alive, 64);
  ASSERT_TRUE(s.step_median_s.has_value());
  EXPECT_NEAR(*s.step_median_s, 0.044, 0.01);
  EXPECT_EQ(s.spread.size(), JobMonitor::kSpreadSteps);
  EXPECT_EQ(s.nodes.size(), 8u);
}

TEST(JobMonitor, SlowRankIsNamedAfterForSteps) {
  SimJob job(64, 8);
  const DistributedParams p = Fast();
  job.Run(100);
  job.Evaluate(p);
  job.SetSlow(37, 1.3);
  const int64_t slow_from = job.step();
  int64_t fired_at = -1;
  for (int i = 0; i < 20 && fired_at < 0; ++i) {
    job.Run(10);
    for (const auto& f : job.Evaluate(p)) {
      if (f.kind == FindingKind::kStraggler && f.transition == Transition::kFiring) {
        EXPECT_EQ(f.subject, "rank=37");
        EXPECT_EQ(f.ranks, std::vector<int64_t>{37});
        EXPECT_NE(f.message.find("rank 37 on node n4"), std::string::npos) << f.message;
        EXPECT_NE(f.message.find("its forward phase takes"), std::string::npos) << f.message;
        EXPECT_NEAR(f.value, (0.010 + 0.030 * 1.3) / 0.040, 0.08);
        fired_at = job.step();
      }
    }
  }
  ASSERT_GE(fired_at, 0);
  // Not before straggler_for_steps slow steps, not much after.
  EXPECT_GE(fired_at - slow_from, p.straggler_for_steps);
  EXPECT_LE(fired_at - slow_from, p.straggler_for_steps + p.straggler_window + 30);
  EXPECT_EQ(Count(job.all, FindingKind::kStraggler, Transition::kFiring), 1);
  // Recovery resolves it.
  job.SetSlow(37, 1.0);
  for (int i = 0; i < 10; ++i) {
    job.Run(10);
    job.Evaluate(p);
  }
  EXPECT_EQ(Count(job.all, FindingKind::kStraggler, Transition::kResolved), 1);
}

TEST(JobMonitor, BriefSlownessDoesNotFire) {
  SimJob job(32, 8);
  const DistributedParams p = Fast();
  job.Run(100);
  job.SetSlow(5, 1.5);
  job.Run(20);
  job.Evaluate(p);
  job.SetSlow(5, 1.0);
  for (int i = 0; i < 10; ++i) {
    job.Run(10);
    job.Evaluate(p);
  }
  EXPECT_EQ(Count(job.all, FindingKind::kStraggler, Transition::kFiring), 0);
}

TEST(JobMonitor, WholeSlowNodeIsOneFinding) {
  SimJob job(32, 4);
  const DistributedParams p = Fast();
  job.Run(60);
  for (int64_t r = 12; r < 16; ++r) job.SetSlow(r, 1.4);
  for (int i = 0; i < 15; ++i) {
    job.Run(10);
    job.Evaluate(p);
  }
  ASSERT_EQ(Count(job.all, FindingKind::kStraggler, Transition::kFiring), 1);
  const JobFinding& f = job.all.front();
  EXPECT_EQ(f.subject, "node=n3");
  EXPECT_EQ(f.ranks, (std::vector<int64_t>{12, 13, 14, 15}));
}

TEST(JobMonitor, StragglerHintNamesDataPhaseAndNodeClock) {
  SimJob job(16, 4);
  const DistributedParams p = Fast();
  for (int n = 0; n < 4; ++n) {
    job.monitor.OnNodePoints(fmt::format("n{}", n), "sys/gpu/sm_clock_mhz", {{"gpu", "0"}},
                             std::vector<double>{n == 1 ? 1100.0 : 1980.0});
  }
  job.monitor.OnNodePoints("n1", "sys/gpu/throttle", {{"gpu", "0"}, {"reason", "hw_thermal"}},
                           std::vector<double>{1});
  job.Run(60);
  job.SetSlowData(5, 3.0);
  for (int i = 0; i < 15; ++i) {
    job.Run(10);
    job.Evaluate(p);
  }
  ASSERT_EQ(Count(job.all, FindingKind::kStraggler, Transition::kFiring), 1);
  const std::string& m = job.all.front().message;
  EXPECT_NE(m.find("its data phase takes"), std::string::npos) << m;
  EXPECT_NE(m.find("hw_thermal"), std::string::npos) << m;
  EXPECT_NE(m.find("1100 MHz against 1980 MHz"), std::string::npos) << m;
}

TEST(JobMonitor, HangNamesTheRankThatStoppedFirst) {
  SimJob job(64, 8);
  const DistributedParams p = Fast();
  job.Run(200);
  EXPECT_TRUE(job.Evaluate(p).empty());
  // Rank 17 blocks in its data phase; the others reach the all-reduce and
  // wait there. Heartbeats keep coming from everyone every second.
  const int64_t stuck_step = job.step();
  const int64_t t0 = job.now;
  int64_t fired_ms = -1;
  for (int s = 1; s <= 12 && fired_ms < 0; ++s) {
    job.now = t0 + s * 1000;
    for (int64_t r = 0; r < 64; ++r) {
      RankBeat b;
      b.step = stuck_step - 1;  // the last step it logged
      b.phase = r == 17 ? "data" : "comm";
      b.phase_ms = r == 17 ? s * 1000 + 30 : s * 1000;
      job.monitor.OnHeartbeat(r, b, job.now);
    }
    for (const auto& f : job.Evaluate(p)) {
      ASSERT_EQ(f.kind, FindingKind::kRankHang) << f.message;
      EXPECT_EQ(f.ranks, std::vector<int64_t>{17});
      EXPECT_NE(f.message.find("the first to stop was rank 17 at step " +
                               std::to_string(stuck_step - 1) + " in phase data on node n2"),
                std::string::npos)
          << f.message;
      EXPECT_NE(f.message.find("63 ranks wait (63 in comm"), std::string::npos) << f.message;
      fired_ms = job.now;
    }
  }
  ASSERT_GT(fired_ms, 0);
  EXPECT_LE(fired_ms - t0, p.hang_after_ms + 1000);
  EXPECT_GT(fired_ms - t0, p.hang_after_ms - 1000);
  JobSnapshot snap = job.monitor.Snapshot(job.now, p);
  ASSERT_TRUE(snap.hang.has_value());
  EXPECT_EQ(snap.ranks[17].state, RankState::kStuck);
  // Everyone moves again: resolved once.
  job.Run(5);
  job.Beat("forward", 1);
  auto after = job.Evaluate(p);
  EXPECT_EQ(Count(after, FindingKind::kRankHang, Transition::kResolved), 1);
  EXPECT_EQ(Count(job.all, FindingKind::kRankHang, Transition::kFiring), 1);
}

TEST(JobMonitor, SilentRankIsNamedBeforeWaitingOnes) {
  SimJob job(8, 4);
  const DistributedParams p = Fast();
  job.Run(100);
  const int64_t t0 = job.now;
  // Rank 3 dies: no heartbeat. The others wait in comm.
  for (int s = 1; s <= 8; ++s) {
    job.now = t0 + s * 1000;
    for (int64_t r = 0; r < 8; ++r) {
      if (r == 3) continue;
      RankBeat b;
      b.step = job.step() - 1;
      b.phase = "comm";
      b.phase_ms = s * 1000;
      job.monitor.OnHeartbeat(r, b, job.now);
    }
    job.Evaluate(p);
  }
  ASSERT_EQ(Count(job.all, FindingKind::kRankHang, Transition::kFiring), 1);
  EXPECT_EQ(job.all.front().ranks, std::vector<int64_t>{3});
  EXPECT_NE(job.all.front().message.find("silent for"), std::string::npos);
  // Named in the hang, not raised twice as rank_lost.
  EXPECT_EQ(Count(job.all, FindingKind::kRankLost, Transition::kFiring), 0);
}

TEST(JobMonitor, LostRankWhileOthersGoOn) {
  // Rank 2 goes silent but the others keep logging (no synchronisation).
  const DistributedParams p = Fast();
  JobMonitor m(4);
  int64_t now = 0;
  for (int64_t r = 0; r < 4; ++r) m.OnJoin(r, "n", now);
  for (int64_t step = 0; step < 200; ++step) {
    now += 50;
    for (int64_t r = 0; r < 4; ++r) {
      if (r == 2 && step > 20) continue;
      std::vector<int64_t> st{step};
      std::vector<double> v{0.05};
      m.OnRankPoints(r, "n", "time/forward", st, v, now);
    }
  }
  auto fs = m.Evaluate(now, p);
  ASSERT_EQ(Count(fs, FindingKind::kRankLost, Transition::kFiring), 1);
  EXPECT_EQ(fs.front().subject, "rank=2");
  EXPECT_EQ(Count(fs, FindingKind::kRankHang, Transition::kFiring), 0);
  // It comes back: resolved.
  std::vector<int64_t> st{300};
  std::vector<double> v{0.05};
  m.OnRankPoints(2, "n", "time/forward", st, v, now + 10);
  auto back = m.Evaluate(now + 20, p);
  EXPECT_EQ(Count(back, FindingKind::kRankLost, Transition::kResolved), 1);
}

TEST(JobMonitor, RanksThatNeverJoinedAreReported) {
  JobMonitor m(8);
  for (int64_t r = 0; r < 6; ++r) m.OnJoin(r, "n", 0);
  DistributedParams p = Fast();
  EXPECT_EQ(Count(m.Evaluate(1000, p), FindingKind::kRankLost, Transition::kFiring), 0);
  for (int64_t r = 0; r < 6; ++r) m.OnHeartbeat(r, RankBeat{}, 6000);
  auto fs = m.Evaluate(6000, p);
  ASSERT_EQ(fs.size(), 2u);
  // The six that joined wait for the two that did not: a hang naming them,
  // and the missing ranks on their own.
  for (const JobFinding& f : fs) {
    EXPECT_EQ(f.ranks, (std::vector<int64_t>{6, 7})) << f.message;
    if (f.kind == FindingKind::kRankLost) {
      EXPECT_EQ(f.subject, "missing");
    } else {
      EXPECT_EQ(f.kind, FindingKind::kRankHang);
      EXPECT_NE(f.message.find("ranks 6 and 7 never joined; 6 ranks wait"), std::string::npos)
          << f.message;
    }
  }
}

TEST(JobMonitor, FinishedRanksAreNeitherStuckNorLost) {
  SimJob job(4, 2);
  const DistributedParams p = Fast();
  job.Run(50);
  for (int64_t r = 0; r < 4; ++r) job.monitor.OnRankFinished(r, job.now);
  job.now += 60'000;
  EXPECT_TRUE(job.Evaluate(p).empty());
  EXPECT_EQ(job.monitor.Snapshot(job.now, p).finished, 4);
}

TEST(JobMonitor, NanOnOneRankOnly) {
  SimJob job(16, 4);
  job.loss_value = [](int64_t rank, int64_t step) {
    return rank == 9 && step == 120 ? std::nan("") : 1.0 + 0.01 * static_cast<double>(rank % 3);
  };
  const DistributedParams p = Fast();
  job.Run(200);
  job.Evaluate(p);
  ASSERT_EQ(Count(job.all, FindingKind::kRankDivergence, Transition::kFiring), 1);
  const JobFinding& f = job.all.front();
  EXPECT_EQ(f.subject, "train/loss{rank=9}");
  EXPECT_EQ(f.step, 120);
  EXPECT_NE(f.message.find("non-finite on rank 9 (node n2) only at step 120"), std::string::npos)
      << f.message;
  job.Run(40);
  job.Evaluate(p);
  EXPECT_EQ(Count(job.all, FindingKind::kRankDivergence, Transition::kResolved), 1);
}

TEST(JobMonitor, LossSpikeOnOneRankButNotOnNoise) {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.1);
  SimJob job(32, 8);
  job.loss_value = [&](int64_t rank, int64_t step) {
    const double base = 2.0 / std::sqrt(1.0 + static_cast<double>(step)) * (1 + noise(rng));
    return rank == 4 && step == 300 ? base * 20 : base;
  };
  const DistributedParams p = Fast();
  for (int i = 0; i < 10; ++i) {
    job.Run(50);
    job.Evaluate(p);
  }
  ASSERT_EQ(Count(job.all, FindingKind::kRankDivergence, Transition::kFiring), 1);
  EXPECT_EQ(job.all.front().subject, "train/loss{rank=4}");
  EXPECT_EQ(job.all.front().step, 300);
}

TEST(JobMonitor, ResentPointsCountOnce) {
  JobMonitor m(2);
  std::vector<int64_t> st{0, 1, 2, 3};
  std::vector<double> v{0.1, 0.1, 0.1, 0.1};
  for (int i = 0; i < 3; ++i) {
    m.OnRankPoints(0, "a", "time/forward", st, v, 100);
    m.OnRankPoints(1, "b", "time/forward", st, v, 100);
  }
  std::vector<int64_t> next{4};
  m.OnRankPoints(0, "a", "time/forward", next, v, 200);
  JobSnapshot s = m.Snapshot(200, DistributedParams{});
  ASSERT_FALSE(s.spread.empty());
  EXPECT_FLOAT_EQ(static_cast<float>(s.spread.front().max_s), 0.1f);
  EXPECT_EQ(s.spread.front().ranks, 2);
}

TEST(JobMonitor, OutOfRangeRanksAreIgnored) {
  JobMonitor m(4);
  m.OnJoin(-1, "x", 0);
  m.OnJoin(JobMonitor::kMaxRanks, "x", 0);
  EXPECT_EQ(m.Snapshot(0, DistributedParams{}).known, 0);
}

TEST(JobMonitor, EndedJobResolvesOpenConditions) {
  SimJob job(8, 4);
  const DistributedParams p = Fast();
  job.Run(50);
  job.now += 20'000;
  job.Evaluate(p);
  ASSERT_EQ(Count(job.all, FindingKind::kRankHang, Transition::kFiring), 1);
  job.monitor.OnJobEnded();
  auto fs = job.Evaluate(p);
  EXPECT_EQ(Count(fs, FindingKind::kRankHang, Transition::kResolved), 1);
}

}  // namespace
}  // namespace vigil::analysis
