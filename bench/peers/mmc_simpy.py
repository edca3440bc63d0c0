"""B1a M/M/c on SimPy 3 (docs/benchmarks.md), the canonical SimPy idiom: a
source process, one process per customer, a simpy.Resource of capacity c.

  python3 mmc_simpy.py c lam mu customers seed

Warm-up: the first 10 % of the customers (by simulated time, T = warm/lam)
run in-process before the clock starts. Prints one JSON object: wall seconds
of the timed part, customers that departed in it, the mean sojourn of the
customers numbered >= warm (all of them counted), peak RSS (VmHWM).
"""
import json
import random
import sys
import time

import simpy


def peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss can carry the parent's peak across exec)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def main() -> None:
    c, lam, mu = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    n, seed = int(float(sys.argv[4])), int(sys.argv[5])
    warm = n // 10
    total = warm + n
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    rng = random.Random(seed)
    expo = rng.expovariate
    st = {'departed': 0, 'counted': 0, 'sum': 0.0}

    def customer(env, i):
        t0 = env.now
        with server.request() as req:
            yield req
            yield env.timeout(expo(mu))
        st['departed'] += 1
        if i >= warm:
            st['counted'] += 1
            st['sum'] += env.now - t0

    def source(env):
        for i in range(total):
            yield env.timeout(expo(lam))
            env.process(customer(env, i))

    env.process(source(env))
    env.run(until=warm / lam)
    before = st['departed']
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    print(json.dumps({
        'wall_s': wall,
        'customers': st['departed'] - before,
        'served': st['counted'],
        'mean_sojourn': st['sum'] / max(st['counted'], 1),
        'rss_mb': peak_rss_mb(),
        'version': simpy.__version__,
    }))


main()
