// B1a M/M/c on ns-3's simulator core (docs/benchmarks.md): arrivals and
// departures as scheduled events, a FIFO queue, ExponentialRandomVariable
// streams. The scheduler (ns3::MapScheduler, ns3::HeapScheduler, ...) is an
// argument.
//
//   mmc_ns3 c lam mu customers seed scheduler
//
// Warm-up: the first 10 % of the customers (by simulated time, T = warm/lam)
// run in-process before the clock starts; prints one JSON object as the
// SimPy script does.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <fstream>
#include <utility>

#include "ns3/double.h"
#include "ns3/nstime.h"
#include "ns3/object-factory.h"
#include "ns3/random-variable-stream.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"

using namespace ns3;

static int g_c;
static long g_total, g_warm, g_arrived = 0, g_departed = 0, g_counted = 0;
static int g_busy = 0;
static double g_sum = 0;
static std::deque<std::pair<Time, long>> g_queue;
static Ptr<ExponentialRandomVariable> g_ia, g_svc;

static void Depart(Time t0, long i);

// VmHWM of this process, MB (ru_maxrss can carry the parent's peak across exec).
static double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      status >> kb;
      return kb / 1024.0;
    }
    std::getline(status, key);
  }
  return -1;
}

static void StartService(Time t0, long i) {
  Simulator::Schedule(Seconds(g_svc->GetValue()), &Depart, t0, i);
}

static void Depart(Time t0, long i) {
  g_departed++;
  if (i >= g_warm) {
    g_counted++;
    g_sum += (Simulator::Now() - t0).GetSeconds();
  }
  if (!g_queue.empty()) {
    auto next = g_queue.front();
    g_queue.pop_front();
    StartService(next.first, next.second);
  } else {
    g_busy--;
  }
}

static void Arrive() {
  long i = g_arrived++;
  if (g_busy < g_c) {
    g_busy++;
    StartService(Simulator::Now(), i);
  } else {
    g_queue.emplace_back(Simulator::Now(), i);
  }
  if (g_arrived < g_total) Simulator::Schedule(Seconds(g_ia->GetValue()), &Arrive);
}

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: mmc_ns3 c lam mu customers seed scheduler\n");
    return 2;
  }
  g_c = std::atoi(argv[1]);
  double lam = std::atof(argv[2]), mu = std::atof(argv[3]);
  long n = (long)std::atof(argv[4]);
  RngSeedManager::SetSeed((uint32_t)std::atoi(argv[5]));
  RngSeedManager::SetRun(1);
  ObjectFactory sched;
  sched.SetTypeId(argv[6]);
  Simulator::SetScheduler(sched);
  g_warm = n / 10;
  g_total = g_warm + n;
  g_ia = CreateObject<ExponentialRandomVariable>();
  g_ia->SetAttribute("Mean", DoubleValue(1.0 / lam));
  g_ia->SetStream(1);
  g_svc = CreateObject<ExponentialRandomVariable>();
  g_svc->SetAttribute("Mean", DoubleValue(1.0 / mu));
  g_svc->SetStream(2);
  Simulator::Schedule(Seconds(g_ia->GetValue()), &Arrive);
  Simulator::Stop(Seconds((double)g_warm / lam));
  Simulator::Run();
  long before = g_departed;
  auto t0 = std::chrono::steady_clock::now();
  Simulator::Run();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Simulator::Destroy();
  std::printf("{\"wall_s\": %.6f, \"customers\": %ld, \"served\": %ld, \"mean_sojourn\": %.9f, \"rss_mb\": %.1f}\n",
              wall, g_departed - before, g_counted, g_sum / (g_counted > 0 ? g_counted : 1), PeakRssMb());
  return 0;
}
