/**
 * B1c mesh flood (docs/benchmarks.md): meshrange's own scenario runner on a
 * generated mesh of W workloads.
 *
 * Mesh (written as manifests under bench/.cache/b1c-W/, loaded by the real
 * loader through prepareScenario): max(1, W/10) injected namespaces; W
 * Deployments with sidecars, each behind a Service (port 8080, http). The
 * target is ns0/w0: 2 in service, 5 ms mean service time, a bounded queue of
 * 50 → capacity 400 requests/s. An EnvoyFilter puts a local rate limit
 * (token bucket 200 per 1 s) on the target's sidecar; a DestinationRule for
 * the target host gives every caller's sidecar a connection pool
 * (maxConnections 2, http1MaxPendingRequests 2): the circuit breaker.
 *
 * Scenario: every other workload sends open-loop Poisson traffic to the
 * target, 4,000 requests/s in total (10x capacity); workload certificates
 * live 2 minutes (renewed about every minute, per workload, over the whole
 * run); one `wait` step so the run is simulated once (no baseline replay).
 * The simulated duration is sized to the wanted event count from a short
 * pilot run (events per simulated second), so the event counts are close to,
 * not exactly, the nominal ones.
 *
 * Per run: a warm-up run at 10 % of the events, in-process, then the timed
 * run (bindScenario + runScenario, the whole run). Metric: kernel events/s
 * (the kernel's `processed`, minus the probe's own events). Also: peak
 * pending events (sampled every 10 ms of simulated time by a probe event
 * that records nothing, so the fingerprint is unchanged), peak RSS, the
 * fingerprint. Rider: every run of a configuration (same seed) gives the
 * same fingerprint, and the flood was actually limited (some 429s).
 *
 *   npx tsx bench/b1c-flood.ts [--workloads 100] [--events 1e6] [--runs 3] [--seed 1]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../src/cli/fs.js';
import { prepareScenario, type PreparedScenario } from '../src/cli/mesh-input.js';
import { IssueList } from '../src/core/issues.js';
import { bindScenario, runScenario } from '../src/scenario/runner.js';
import type { RunResult } from '../src/scenario/types.js';
import { Kernel } from '../src/sim/kernel/index.js';
import { argNumber, cacheDir, emit, peakRssMb, settle } from './lib.js';

export const TARGET_RATE = 4000;
const PROBE_MS = 10;

export function floodManifests(W: number): string {
  const N = Math.max(1, Math.floor(W / 10));
  const docs: unknown[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } }];
  for (let i = 0; i < N; i++) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${i}`, labels: { 'istio-injection': 'enabled' } } });
  for (let i = 0; i < W; i++) {
    const ns = `ns${i % N}`;
    const name = `w${i}`;
    docs.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { serviceAccountName: name, containers: [{ name: 'app', image: 'example/app:1', ports: [{ containerPort: 8080 }] }] } },
      },
    });
    docs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] } });
  }
  docs.push({
    apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'w0-local-ratelimit', namespace: 'ns0' },
    spec: {
      workloadSelector: { labels: { app: 'w0' } },
      configPatches: [{
        applyTo: 'HTTP_FILTER',
        match: { context: 'SIDECAR_INBOUND', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } } },
        patch: {
          operation: 'INSERT_BEFORE',
          value: {
            name: 'envoy.filters.http.local_ratelimit',
            typed_config: {
              '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
              type_url: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
              value: {
                stat_prefix: 'http_local_rate_limiter',
                token_bucket: { max_tokens: 200, tokens_per_fill: 200, fill_interval: '1s' },
                filter_enabled: { runtime_key: 'local_rate_limit_enabled', default_value: { numerator: 100, denominator: 'HUNDRED' } },
                filter_enforced: { runtime_key: 'local_rate_limit_enforced', default_value: { numerator: 100, denominator: 'HUNDRED' } },
              },
            },
          },
        },
      }],
    },
  });
  docs.push({
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'w0-circuit-breaker', namespace: 'ns0' },
    spec: { host: 'w0.ns0.svc.cluster.local', trafficPolicy: { connectionPool: { tcp: { maxConnections: 2 }, http: { http1MaxPendingRequests: 2, maxRequestsPerConnection: 1 } } } },
  });
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

export function floodScenario(W: number, durationS: number, seed: number): string {
  const N = Math.max(1, Math.floor(W / 10));
  const callers = W - 1;
  const per = TARGET_RATE / callers;
  const traffic = Array.from({ length: callers }, (_, j) => {
    const i = j + 1;
    return { from: `ns${i % N}/w${i}`, to: 'w0.ns0:8080', method: 'GET', path: '/work', rate: `${per.toFixed(6)}/s` };
  });
  const doc = {
    apiVersion: 'meshrange.io/v1alpha1', kind: 'Scenario',
    metadata: { name: `bench-flood-w${W}`, description: `B1c: ${W} workloads, ${TARGET_RATE}/s at one target of capacity 400/s` },
    spec: {
      mesh: { manifests: ['mesh.yaml'] },
      seed,
      duration: `${Math.round(durationS * 1000)}ms`,
      workloads: { 'ns0/w0': { serviceTime: '5ms', concurrency: 2, queue: 50 } },
      ca: { workloadCertTtl: '2m' },
      traffic,
      attacker: { foothold: `ns${1 % N}/w1` },
      steps: [{ id: 'hold', action: 'wait', for: '1s', at: '1s' }],
    },
  };
  return JSON.stringify(doc, null, 1);
}

// ------------------------------------------------------------------ instrumentation

interface Probe {
  kernel: Kernel | null;
  peak: number;
  probes: number;
  runSeconds: number;
}
const probe: Probe = { kernel: null, peak: 0, probes: 0, runSeconds: 0 };
const originalRun = Kernel.prototype.run;
Kernel.prototype.run = function run(this: Kernel, until?: number): void {
  probe.kernel = this;
  if (until !== undefined) {
    const tick = (k: Kernel): void => {
      probe.probes++;
      if (k.pending > probe.peak) probe.peak = k.pending;
      if (k.now + PROBE_MS <= until) k.schedule(PROBE_MS, tick);
    };
    this.schedule(0, tick);
  }
  const t0 = performance.now();
  try {
    originalRun.call(this, until);
  } finally {
    probe.runSeconds += (performance.now() - t0) / 1000;
  }
};

// ------------------------------------------------------------------ runs

function prepare(W: number, durationS: number, seed: number, tag: string): PreparedScenario {
  const dir = path.join(cacheDir, `b1c-w${W}-${tag}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'mesh.yaml'), floodManifests(W));
  const file = path.join(dir, 'scenario.yaml');
  writeFileSync(file, floodScenario(W, durationS, seed));
  const issues = new IssueList();
  const prepared = prepareScenario(path.relative(process.cwd(), file), Sandbox.forCwd([]), issues);
  if (!prepared || !bindScenario(prepared.scenario, prepared.mesh, issues, prepared.jwks)) {
    throw new Error(`B1c scenario rejected:\n${issues.errors.slice(0, 5).map((e) => e.message).join('\n')}`);
  }
  return prepared;
}

interface FloodRun {
  wall_s: number;
  kernel_s: number;
  events: number;
  peak: number;
  fingerprint: string;
  result: RunResult;
}

async function runOnce(p: PreparedScenario): Promise<FloodRun> {
  probe.kernel = null;
  probe.peak = 0;
  probe.probes = 0;
  probe.runSeconds = 0;
  const t0 = performance.now();
  const result = await runScenario(p.scenario, p.mesh, { warnings: p.warnings, jwks: p.jwks });
  const wall = (performance.now() - t0) / 1000;
  const k = probe.kernel as Kernel | null;
  if (!k) throw new Error('the scenario ran no kernel');
  return { wall_s: wall, kernel_s: probe.runSeconds, events: k.processed - probe.probes, peak: probe.peak, fingerprint: result.fingerprint, result };
}

/** Events per simulated second of the flood, from a short pilot. */
async function eventsPerSimSecond(W: number, seed: number): Promise<number> {
  const pilotS = 2;
  const r = await runOnce(prepare(W, pilotS, seed, 'pilot'));
  // The run goes on 60 s past `duration` (drain, certificate renewals): count the flood part only.
  return r.events / pilotS;
}

export async function floodBench(W: number, events: number, runs: number, seed: number, rate?: number): Promise<number> {
  const perSim = rate ?? (await eventsPerSimSecond(W, seed));
  const durationS = events / perSim;
  const warm = prepare(W, durationS / 10, seed, 'warm');
  await runOnce(warm);
  const p = prepare(W, durationS, seed, 'timed');
  let first: string | null = null;
  for (let r = 0; r < runs; r++) {
    settle();
    const x = await runOnce(p);
    first ??= x.fingerprint;
    const statuses: Record<string, number> = {};
    let sent = 0;
    for (const t of x.result.traffic) {
      sent += t.sent;
      for (const [s, n] of Object.entries(t.statuses ?? {})) statuses[s] = (statuses[s] ?? 0) + n;
    }
    const limited = (statuses['429'] ?? 0) > 0;
    emit({
      bench: 'B1c-flood', impl: 'meshrange',
      params: { workloads: W, events_nominal: events, sim_seconds: Number(durationS.toFixed(2)), offered_rps: TARGET_RATE, target_capacity_rps: 400 },
      seed, wall_s: x.wall_s, rate: x.events / x.wall_s, rss_mb: peakRssMb(), check: x.fingerprint === first && limited,
      info: {
        unit: 'events/s', events: x.events, kernel_run_s: Number(x.kernel_s.toFixed(3)), kernel_events_per_s: Math.round(x.events / x.kernel_s),
        peak_pending: x.peak, fingerprint: x.fingerprint, same_fingerprint: x.fingerprint === first, requests: sent, statuses,
      },
    });
    process.stderr.write(`B1c W=${W} run ${r + 1}/${runs}: ${x.events} events in ${x.wall_s.toFixed(2)} s (kernel ${x.kernel_s.toFixed(2)} s), peak pending ${x.peak}, fp ${x.fingerprint}\n`);
  }
  return perSim;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const W = argNumber('workloads', 100);
  const events = argNumber('events', 1e6);
  const runs = argNumber('runs', 3);
  const seed = argNumber('seed', 1);
  await floodBench(W, events, runs, seed);
}
