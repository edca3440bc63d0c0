/**
 * Scenarios and manifests from strangers (issue 9, product.md §5): bounded
 * work, no crash on long-running requests, no lookup that reaches
 * Object.prototype. Each test pins one defect that a hostile input showed.
 */
import { describe, expect, it } from 'vitest';
import { scenarioSpan } from '../../src/scenario/simulate.js';
import { IssueList } from '../../src/core/issues.js';
import { loadMesh } from '../../src/loader/load.js';
import type { Mesh } from '../../src/model/types.js';
import { parseScenario, type LoadedScenario } from '../../src/scenario/load.js';
import { bindScenario, estimateCertRequests, estimateRequests, MAX_CERT_REQUESTS, runScenario } from '../../src/scenario/runner.js';
import { ScenarioLimitError } from '../../src/scenario/simulate.js';
import type { RunResult } from '../../src/scenario/types.js';
import { app, ns, pa } from '../helpers.js';

const base = [ns('a', true), ns('b', true), app('a', 'client'), app('b', 'server'), pa('b', 'default', 'STRICT')];

function meshOf(extra: string[] = []): Mesh {
  const { mesh, issues } = loadMesh([...base, ...extra].map((t, i) => ({ path: `m${i}.yaml`, text: t })));
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return mesh;
}

function scenarioText(steps: string, extra = ''): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: t }
spec:
  mesh: { manifests: [x] }
${extra}  attacker: { foothold: a/client }
  steps:
${steps}`;
}

/** The scenario's load and bind errors as `code@line`. */
function refused(text: string, mesh: Mesh = meshOf()): string[] {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text, issues);
  if (s) bindScenario(s, mesh, issues);
  return issues.errors.map((e) => `${e.code}@${e.loc?.line ?? '?'}`);
}

function loaded(text: string, mesh: Mesh): LoadedScenario {
  const issues = new IssueList();
  const s = parseScenario('t.yaml', text, issues);
  if (!s || !bindScenario(s, mesh, issues)) throw new Error(issues.items.map((i) => i.message).join('\n'));
  return s;
}

async function run(text: string, mesh: Mesh = meshOf()): Promise<RunResult> {
  return runScenario(loaded(text, mesh), mesh);
}

describe('issue 9.2: work is bounded before it starts', () => {
  it('a negative flood `for` is refused at that field; it can no longer cancel another flood\'s estimate', () => {
    const text = scenarioText(`    - { id: neg, action: flood, to: "server.b:80", rate: 1000/s, for: "-100000s" }
    - { id: big, action: flood, to: "server.b:80", rate: 1000/s, for: 100000s, at: 0s }
`);
    expect(refused(text)).toEqual(['scenario-invalid@8']);
  });

  it('the request estimate adds every flood: a long flood after a short one is too large (scenario-too-large)', () => {
    const text = scenarioText(`    - { id: short, action: flood, to: "server.b:80", rate: 1000/s, for: 1s }
    - { id: big, action: flood, to: "server.b:80", rate: 1000/s, for: 6h }
`);
    expect(estimateRequests(loaded(scenarioText('    - { id: short, action: flood, to: "server.b:80", rate: 1000/s, for: 1s }\n'), meshOf()))).toBe(1000);
    expect(refused(text)).toEqual(['scenario-too-large@4']);
  });

  it('a flood of 100,000/s for a minute (6 M requests, up to ~85 µs each when it overloads its target) is refused before it runs; 100,000/s for 20 s (2 M) is admitted', () => {
    expect(refused(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 100000/s, for: 60s }\n'))).toEqual(['scenario-too-large@4']);
    expect(estimateRequests(loaded(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 100000/s, for: 20s }\n'), meshOf()))).toBe(2_000_000);
    expect(refused(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 100000/s, for: 20s }\n'))).toEqual([]);
  });

  it('certificate work is bounded too: a 1 ms certificate TTL or year-long CA outages over a year are refused at spec.ca (scenario-too-large)', () => {
    const wait = '    - { id: w, action: wait, for: 366d }\n';
    // 2 sidecars: 366 days of 1 ms certificates is ~1.3e11 renewals; ten year-long outages ~5.3 M retries
    expect(refused(scenarioText(wait, '  ca: { workloadCertTtl: 1ms }\n'))).toEqual(['scenario-too-large@6']);
    const outages = Array.from({ length: 10 }, (_, i) => `{ at: ${i}ms, for: 365d }`).join(', ');
    expect(refused(scenarioText(wait, `  ca: { outages: [${outages}] }\n`))).toEqual(['scenario-too-large@6']);
    // the default 24 h TTL over a year (~750 renewals) and one day-long outage (~1,450 retries, one a minute): ~2,200 a sidecar
    const ordinary = loaded(scenarioText(wait, '  ca: { outage: { at: 1h, for: 1d } }\n'), meshOf());
    expect(Math.round(estimateCertRequests(ordinary, meshOf()))).toBe(2 * Math.round(1 + 366 / 0.49 + 7 + 1440));
    expect(estimateCertRequests(ordinary, meshOf())).toBeLessThan(MAX_CERT_REQUESTS);
  });

  it('zero, negative, NaN and infinite numbers are refused at their fields: rates, spans, service times, TTLs, at', () => {
    const text = scenarioText(`    - { id: a, action: flood, to: "server.b:80", rate: 0/s, for: 1s }
    - { id: b, action: wait, for: 0s }
    - { id: c, action: request, to: "server.b:80", at: -5s }
`, `  duration: 0ms
  ca: { workloadCertTtl: 0s, outage: { at: 1s, for: -1s } }
  workloads:
    b/server: { serviceTime: -1ms, concurrency: .nan, queue: .inf }
`);
    expect(refused(text).map((x) => Number(x.replace('scenario-invalid@', ''))).sort((x, y) => x - y)).toEqual([6, 7, 7, 9, 9, 9, 12, 13, 14]);
  });

  it('a rate above 1,000,000/s is refused: at t = 100 d its arrivals would fall below the clock\'s resolution and never advance time', () => {
    const text = scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 1000000000000/s, for: 1ms, at: 100d }\n');
    expect(refused(text)).toEqual(['scenario-invalid@8']);
  });

  it('a flood at 100 d with a tiny for and the highest rate ends at once (time arithmetic at large t)', async () => {
    const t0 = performance.now();
    const r = await run(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 1000000/s, for: 0.005ms, at: 100d }\n'));
    expect(r.steps[0]?.t).toBe(100 * 86_400_000);
    expect(r.steps[0]?.evidence.flood?.sent).toBeLessThan(50);
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it('a scenario whose steps run past 366 days of simulated time is refused at the step that crosses it', () => {
    const text = scenarioText('    - { id: w, action: wait, for: 300d }\n    - { id: w2, action: wait, for: 100d }\n');
    expect(refused(text)).toEqual(['scenario-too-long@9']);
  });

  it('a run that spends its event budget stops with a located error naming the step, not a hang', async () => {
    const mesh = meshOf();
    const s = loaded(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 1000/s, for: 10s }\n'), mesh);
    const err = await runScenario(s, mesh, { maxEvents: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioLimitError);
    expect((err as ScenarioLimitError).message).toMatch(/after 2,000 events.*during step "f"/);
    expect((err as ScenarioLimitError).loc.line).toBe(8);
  });

  it('with steps overlapping when the budget runs out, the error names the one that runs longest, at its line (a probe inside a flood is not what spent it)', async () => {
    const mesh = meshOf();
    const s = loaded(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 1000/s, for: 10s }\n    - { id: p, action: flood, to: "server.b:80", rate: 1/s, for: 5s, at: 0s }\n'), mesh);
    const err = await runScenario(s, mesh, { maxEvents: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioLimitError);
    expect((err as ScenarioLimitError).message).toMatch(/during step "f"/);
    expect((err as ScenarioLimitError).loc.line).toBe(8);
    // the longer one listed second is named just the same
    const swapped = loaded(scenarioText('    - { id: p, action: flood, to: "server.b:80", rate: 1/s, for: 5s }\n    - { id: f, action: flood, to: "server.b:80", rate: 1000/s, for: 10s, at: 0s }\n'), mesh);
    const err2 = await runScenario(swapped, mesh, { maxEvents: 2000 }).catch((e: unknown) => e);
    expect((err2 as ScenarioLimitError).message).toMatch(/during step "f"/);
    expect((err2 as ScenarioLimitError).loc.line).toBe(9);
  });

  it('requests that pile up in an app stop the run with a located error at the live-request limit, not a heap exhaustion', async () => {
    // a day of service time behind a vast queue: every request of the flood stays in the app (15.8 M did, 4.4 GB)
    const mesh = meshOf();
    const facts = '  workloads: { b/server: { serviceTime: 1d, concurrency: 1000, queue: 1000000 } }\n';
    const s = loaded(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 1000/s, for: 10s }\n', facts), mesh);
    const err = await runScenario(s, mesh, { maxLiveRequests: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioLimitError);
    expect((err as ScenarioLimitError).message).toMatch(/with 300 requests in the apps at once .*during step "f"/);
    expect((err as ScenarioLimitError).hint).toMatch(/service times, concurrency or queues/);
    // the same run with requests that finish stays under the limit
    const quick = loaded(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 1000/s, for: 1s }\n'), mesh);
    await expect(runScenario(quick, mesh, { maxLiveRequests: 300 })).resolves.toBeDefined();
  });
});

describe('a step\'s to: is host:port with a DNS name or an address for a host', () => {
  const step = (to: string): string => scenarioText(`    - { id: s, action: request, to: ${JSON.stringify(to)} }\n`);
  it('markup, quotes, pipes, escape characters and a host over 253 characters are refused where to: is written', () => {
    for (const to of ['<script>:80', 'x|y"z.evil.com:443', '\u001b[31mred:80', `${'a'.repeat(254)}:80`]) {
      expect(refused(step(to)), to.slice(0, 20)).toHaveLength(1);
      expect(refused(step(to))[0], to.slice(0, 20)).toMatch(/@8$/);
    }
  });
  it('names, FQDNs, addresses, underscores and workload/<ns>/<name> forms stay accepted', () => {
    for (const to of ['server.b:80', 'server.b.svc.cluster.local:80', '10.0.0.1:80', 'evil_host.example.com:443', 'workload/b/server:80', `${'a'.repeat(253)}:80`]) {
      expect(refused(step(to)), to.slice(0, 30)).toEqual([]);
    }
  });
});

describe('expectations that no run can meet are refused at load', () => {
  it('a flood expected stoppedBy App: the overwhelmed app is the flood\'s effect, never in its stoppedBy', () => {
    expect(refused(scenarioText('    - { id: f, action: flood, to: "server.b:80", rate: 10/s, for: 1s, expect: { outcome: partial, stoppedBy: App } }\n'))).toEqual(['expect-stopped-by-app-flood@8']);
    expect(refused(scenarioText('    - { id: r, action: request, to: "server.b:80", expect: { outcome: blocked, stoppedBy: App } }\n'))).toEqual([]);
  });
});

describe('step times', () => {
  it('an at before the step above it starts is refused where the at is written (steps are listed in the order they start)', () => {
    const text = scenarioText('    - { id: s1, action: request, to: "server.b:80", at: 10s }\n    - { id: s2, action: request, to: "server.b:80", at: 1s }\n');
    expect(refused(text)).toEqual(['step-out-of-order@9']);
  });

  it('an at while the step above still runs is kept: the step starts then, not when that step ends; a step without at waits for every step above', () => {
    const text = scenarioText('    - { id: w, action: wait, for: 10s }\n    - { id: probe, action: request, to: "server.b:80", at: 4s }\n    - { id: next, action: request, to: "server.b:80" }\n');
    expect(refused(text)).toEqual([]);
    expect(scenarioSpan(loaded(text, meshOf())).steps).toEqual([{ at: 0, end: 10_000 }, { at: 4000, end: 4000 }, { at: 10_000, end: 10_000 }]);
    expect(scenarioSpan(loaded(text, meshOf())).stepsEnd).toBe(10_000);
  });
});

describe('issue 9.3: a request that outlives the run is cut off, never a crash', () => {
  it('a request to an app with a 1000 h service time ends blocked with code 0 and a cut-off reason', async () => {
    const r = await run(scenarioText('    - { id: slow, action: request, to: "server.b:80", expect: blocked }\n',
      '  workloads:\n    b/server: { serviceTime: 1000h }\n'));
    const step = r.steps[0];
    expect(step).toMatchObject({ id: 'slow', outcome: 'blocked', code: 0, mtls: null, stoppedBy: [], expectationMet: true });
    expect(step?.evidence.cutOff?.reason).toMatch(/before this step finished: cut off/);
  });

  it('a flood whose requests are all still queued at the end is cut off with its counts: nothing got through', async () => {
    const r = await run(scenarioText('    - { id: flood, action: flood, to: "server.b:80", rate: 50/s, for: 2s }\n',
      '  workloads:\n    b/server: { serviceTime: 1000h, concurrency: 1 }\n'));
    const step = r.steps[0];
    expect(step?.outcome).toBe('blocked');
    expect(step?.evidence.flood?.ok).toBe(0);
    expect(step?.evidence.cutOff?.reason).toMatch(/still unanswered/);
  });
});

describe('issue 9.4: names from input never reach Object.prototype', () => {
  const extAuthzMesh = (): Mesh => meshOf([`apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    extensionProviders:
      - name: constructor
        envoyExtAuthzHttp: { service: server.b.svc.cluster.local, port: 80 }
`, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext, namespace: b }
spec:
  selector: { matchLabels: { app: server } }
  action: CUSTOM
  provider: { name: constructor }
  rules: [{}]
`]);

  it('an ext-authz provider called constructor without a stand-in fails closed (403), never allows', async () => {
    const r = await run(scenarioText('    - { id: s, action: request, to: "server.b:80" }\n',
      '  extAuthz:\n    another-provider: {}\n'), extAuthzMesh());
    expect(r.steps[0]).toMatchObject({ outcome: 'blocked', code: 403 });
    expect(r.steps[0]?.stoppedBy[0]?.reason).toMatch(/no stand-in for ext-authz provider "constructor"/);
  });

  it('jwt: constructor names no token of spec.tokens: unknown-token, located', () => {
    expect(refused(scenarioText('    - { id: s, action: request, to: "server.b:80", jwt: constructor }\n',
      '  tokens:\n    alice: { iss: x }\n'))).toEqual(['unknown-token@10']);
  });

  it('an sni longer than a server name (253 characters) is refused at the step; 253 is admitted', () => {
    const step = (n: number): string => `    - { id: s, action: request, to: "server.b:80", protocol: tls, sni: "${'a'.repeat(n)}" }\n`;
    expect(refused(scenarioText(step(254))).length).toBe(1);
    expect(refused(scenarioText(step(254)))[0]).toMatch(/@8$/);
    expect(refused(scenarioText(step(253)))).toEqual([]);
  });

  it('a __proto__ key anywhere in a scenario (tokens, headers) is refused where it is written', () => {
    expect(refused(scenarioText('    - { id: s, action: request, to: "server.b:80", headers: { __proto__: x } }\n',
      '  tokens:\n    __proto__: { iss: x }\n'))).toEqual(['scenario-reserved-key@7', 'scenario-reserved-key@10']);
  });

  it('a VirtualService header match named __proto__ is an ordinary header: the route needs it', async () => {
    const mesh = meshOf([`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: server, namespace: b }
spec:
  hosts: [server.b.svc.cluster.local]
  http:
    - match: [{ headers: { __proto__: { exact: yes } } }]
      route: [{ destination: { host: server.b.svc.cluster.local } }]
`]);
    const r = await run(scenarioText('    - { id: without, action: request, to: "server.b:80" }\n'), mesh);
    expect(r.steps[0]).toMatchObject({ outcome: 'blocked', code: 404 });
  });
});
