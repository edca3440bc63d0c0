/** Defence in depth and counterfactuals (product.md §3.2): `defences`, `sole` and the report's `controls`. */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runFiles } from '../../src/api/run.js';
import { FsSource, Sandbox } from '../../src/cli/fs.js';
import type { ControlRef } from '../../src/analysis/counterfactual.js';
import type { StoppedBy } from '../../src/policy/pipeline.js';
import { attachDefences, MAX_VARIANTS, summarizeControls, type StepVerdict } from '../../src/scenario/defences.js';
import type { RunResult, StepResult } from '../../src/scenario/types.js';

const root = path.resolve(__dirname, '../..');

function step(id: string, outcome: StepResult['outcome'], stoppedBy: StoppedBy[]): StepResult {
  return { id, action: 'request', outcome, expected: null, code: null, mtls: null, stoppedBy, attack: true, expectationMet: null, from: 'a/x', t: 0, evidence: { events: [] } };
}
const stop = (control: StoppedBy['control'], name: string | null): StoppedBy => ({ control, name, reason: `${control} ${name ?? ''} says no` });

/**
 * A stand-in for re-running a scenario: each step is guarded by layers of
 * controls (each layer stops it while any of its controls is left); the
 * first layer with a control left is what the step meets.
 */
function layered(guards: Record<string, StoppedBy[][]>, events = 10): { run: (removed: readonly ControlRef[]) => { steps: Map<string, StepVerdict>; events: number }; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: (removed) => {
      calls.push(removed.map((r) => `${r.control} ${r.name}`));
      const gone = new Set(removed.map((r) => `${r.control} ${r.name}`));
      const out = new Map<string, StepVerdict>();
      for (const [id, layers] of Object.entries(guards)) {
        const layer = layers.map((l) => l.filter((s) => !gone.has(`${s.control} ${s.name}`))).find((l) => l.length > 0);
        out.set(id, layer ? { outcome: 'blocked', stoppedBy: layer } : { outcome: 'allowed', stoppedBy: [] });
      }
      return { steps: out, events };
    },
  };
}

describe('defences: peeling and sole', () => {
  it('peels what each re-run reports next, in the order found, until the step gets through', () => {
    const ap = stop('AuthorizationPolicy', 'b/allow-api'); const pa = stop('PeerAuthentication', 'b/default');
    const { run } = layered({ s: [[pa], [ap]] });
    const s = step('s', 'blocked', [pa]);
    attachDefences([s], run);
    expect(s.defences?.map((d) => [d.control, d.name, d.sole])).toEqual([['PeerAuthentication', 'b/default', false], ['AuthorizationPolicy', 'b/allow-api', false]]);
    expect(s.defences?.[1]?.reason).toBe(ap.reason);
  });

  it('a control that alone holds the step is sole: true; a second layer behind it makes both sole: false', () => {
    const ap = stop('AuthorizationPolicy', 'b/allow-api'); const np = stop('NetworkPolicy', 'b/deny');
    const { run } = layered({ single: [[ap]], double: [[np], [ap]] });
    const single = step('single', 'blocked', [ap]); const double = step('double', 'blocked', [np]);
    attachDefences([single, double], run);
    expect(single.defences?.map((d) => d.sole)).toEqual([true]);
    expect(double.defences?.map((d) => d.sole)).toEqual([false, false]);
  });

  it('controls one run reports together are put in packet order: NetworkPolicy before PeerAuthentication before AuthorizationPolicy', () => {
    const ap = stop('AuthorizationPolicy', 'b/x'); const np = stop('NetworkPolicy', 'b/y'); const pa = stop('PeerAuthentication', 'b/z');
    const { run } = layered({ s: [[ap, pa, np]] });
    const s = step('s', 'partial', [ap, pa, np]);
    attachDefences([s], run);
    expect(s.defences?.map((d) => d.control)).toEqual(['NetworkPolicy', 'PeerAuthentication', 'AuthorizationPolicy']);
  });

  it('each distinct set of removed controls is simulated once and shared by every step', () => {
    const ap = stop('AuthorizationPolicy', 'b/x');
    const { run, calls } = layered({ s1: [[ap]], s2: [[ap]], s3: [[ap]] });
    attachDefences([step('s1', 'blocked', [ap]), step('s2', 'blocked', [ap]), step('s3', 'blocked', [ap])], run);
    expect(calls).toEqual([['AuthorizationPolicy b/x']]);
  });

  it('a control that cannot be removed ends the peel: it is listed with removable: false and sole: false, and no variant is run for it', () => {
    const cert = stop('CertificateValidity', 'a/x');
    const { run, calls } = layered({ s: [[cert]] });
    const s = step('s', 'blocked', [cert]);
    attachDefences([s], run);
    expect(s.defences).toEqual([{ control: 'CertificateValidity', name: 'a/x', reason: cert.reason, sole: false, removable: false }]);
    expect(calls).toEqual([]);
  });

  it('a step that got through has no defences and costs no re-run', () => {
    const { run, calls } = layered({});
    const s = step('s', 'allowed', []);
    const warnings = attachDefences([s], run);
    expect(s.defences).toEqual([]);
    expect(calls).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it(`past ${MAX_VARIANTS} variant runs the analysis stops with a warning naming the steps left incomplete`, () => {
    const guards: Record<string, StoppedBy[][]> = {};
    const steps: StepResult[] = [];
    for (let i = 0; i <= MAX_VARIANTS; i++) {
      const ap = stop('AuthorizationPolicy', `b/p${i}`);
      guards[`s${i}`] = [[ap]];
      steps.push(step(`s${i}`, 'blocked', [ap]));
    }
    const { run, calls } = layered(guards);
    const warnings = attachDefences(steps, run);
    expect(calls).toHaveLength(MAX_VARIANTS);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`s${MAX_VARIANTS}`);
    expect(steps[MAX_VARIANTS]?.defences).toEqual([{ control: 'AuthorizationPolicy', name: `b/p${MAX_VARIANTS}`, reason: expect.any(String), sole: false }]);
    expect(steps[0]?.defences?.[0]?.sole).toBe(true);
  });

  it('no new variant starts once the variants have used up the event budget; the steps left are named in a warning', () => {
    const a = stop('AuthorizationPolicy', 'b/a'); const b = stop('AuthorizationPolicy', 'b/b'); const c = stop('AuthorizationPolicy', 'b/c');
    const { run, calls } = layered({ s1: [[a]], s2: [[b]], s3: [[c]] }, 600);
    const steps = [step('s1', 'blocked', [a]), step('s2', 'blocked', [b]), step('s3', 'blocked', [c])];
    const warnings = attachDefences(steps, run, 1000);
    expect(calls).toEqual([['AuthorizationPolicy b/a'], ['AuthorizationPolicy b/b']]);
    expect(steps.map((s) => s.defences?.[0]?.sole)).toEqual([true, true, false]);
    expect(warnings[0]).toMatch(/1000 simulated events.*step s3 may be incomplete/);
  });
});

describe('controls', () => {
  it('are sorted by soleStops, then stops, descending, then packet order and name', () => {
    const s = (id: string, defences: [StoppedBy['control'], string | null, boolean][]): StepResult => {
      const r = step(id, 'blocked', []);
      r.defences = defences.map(([control, name, sole]) => ({ control, name, reason: '', sole }));
      return r;
    };
    const controls = summarizeControls([
      s('1', [['NetworkPolicy', 'b/np', false], ['AuthorizationPolicy', 'b/ap', false]]),
      s('2', [['NetworkPolicy', 'b/np', false], ['AuthorizationPolicy', 'b/ap', false]]),
      s('3', [['NetworkPolicy', 'b/np', false]]),
      s('4', [['PeerAuthentication', 'b/pa', true]]),
      s('5', [['AuthorizationPolicy', 'b/zz', false]]),
      s('6', [['AuthorizationPolicy', 'b/aa', false]]),
      s('7', [['EgressPolicy', null, false]]),
    ]);
    expect(controls.map((c) => [c.control, c.name, c.stops, c.soleStops])).toEqual([
      ['PeerAuthentication', 'b/pa', 1, 1],
      ['NetworkPolicy', 'b/np', 3, 0],
      ['AuthorizationPolicy', 'b/ap', 2, 0],
      ['EgressPolicy', null, 1, 0],
      ['AuthorizationPolicy', 'b/aa', 1, 0],
      ['AuthorizationPolicy', 'b/zz', 1, 0],
    ]);
  });
});

// ---- against real manifests --------------------------------------------------

const temps: string[] = [];
afterAll(() => { for (const t of temps) rmSync(t, { recursive: true, force: true }); });

/** A temp copy of a shipped scenario with its meshes, so its manifests can be edited. */
function copyScenario(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshrange-defences-'));
  temps.push(dir);
  cpSync(path.join(root, 'scenarios', `${name}.yaml`), path.join(dir, `${name}.yaml`));
  cpSync(path.join(root, 'scenarios', 'meshes'), path.join(dir, 'meshes'), { recursive: true });
  return path.join(dir, `${name}.yaml`);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(e) ? [p] : [];
  });
}

/** Deletes the resource of a control (kind = the control's kind, metadata namespace/name) from every manifest under `dir`. */
function deleteResource(dir: string, control: string, name: string): number {
  let deleted = 0;
  for (const f of yamlFiles(dir)) {
    const docs = parseAllDocuments(readFileSync(f, 'utf8'));
    const kept = docs.filter((d) => {
      const o = d.toJSON() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
      const hit = o?.kind === control && `${o.metadata?.namespace}/${o.metadata?.name}` === name;
      if (hit) deleted++;
      return !hit;
    });
    if (kept.length !== docs.length) writeFileSync(f, kept.map((d) => d.toString()).join('---\n'));
  }
  return deleted;
}

async function run(file: string): Promise<RunResult> {
  const { results, issues } = await runFiles([file], new FsSource(Sandbox.forCwd([])));
  if (issues.hasErrors()) throw new Error(issues.errors.map((e) => e.message).join('\n'));
  return results[0] as RunResult;
}

describe('defences against real manifests', () => {
  it('deleting a step\'s sole control from the manifests lets that step through', async () => {
    const file = copyScenario('spof-db-single-policy');
    const before = await run(file);
    const s = before.steps.find((x) => x.id === 'web-to-db-over-mtls');
    expect(s?.outcome).toBe('blocked');
    const sole = s?.defences?.filter((d) => d.sole) ?? [];
    expect(sole).toHaveLength(1);
    const control = sole[0] as NonNullable<typeof sole[0]>;
    expect(deleteResource(path.dirname(file), control.control, control.name as string)).toBe(1);
    const after = await run(file);
    expect(after.steps.find((x) => x.id === 'web-to-db-over-mtls')?.outcome).toBe('allowed');
    expect(after.steps.find((x) => x.id === 'web-bypasses-sidecar-to-db')?.outcome).toBe('allowed');
  });

  it('a step behind STRICT and an ALLOW policy has both as defences, sole: false on each, and deleting either one from the manifests still blocks it', async () => {
    const file = copyScenario('depth-db-strict-and-allow');
    const r = await run(file);
    const s = r.steps.find((x) => x.id === 'batch-plaintext-to-db');
    expect(s?.defences?.map((d) => [d.control, d.name, d.sole])).toEqual([
      ['PeerAuthentication', 'backend/default', false],
      ['AuthorizationPolicy', 'backend/backend-db-allow-api', false],
    ]);
    expect(r.controls.map((c) => [c.control, c.name, c.stops, c.soleStops])).toEqual([
      ['AuthorizationPolicy', 'backend/backend-db-allow-api', 3, 1],
      ['PeerAuthentication', 'backend/default', 2, 0],
    ]);
    for (const d of s?.defences ?? []) {
      const copy = copyScenario('depth-db-strict-and-allow');
      expect(deleteResource(path.dirname(copy), d.control, d.name as string)).toBe(1);
      expect((await run(copy)).steps.find((x) => x.id === 'batch-plaintext-to-db')?.outcome, `without ${d.control} ${d.name}`).toBe('blocked');
    }
  });

  it('defences follow the packet: the client sidecar\'s REGISTRY_ONLY first, then the NetworkPolicies that isolate the pod', async () => {
    const r = await run(path.join(root, 'scenarios', 'payments-egress-registry-only.yaml'));
    const s = r.steps.find((x) => x.id === 'payments-to-unregistered-host');
    expect(s?.defences?.map((d) => d.control)).toEqual(['EgressPolicy', 'NetworkPolicy', 'NetworkPolicy']);
    expect(s?.defences?.[0]).toMatchObject({ name: null, sole: false });
  });
});
