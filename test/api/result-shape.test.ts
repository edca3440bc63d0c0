/**
 * What the library takes back — run results for the renderers, stepRecords
 * and trafficRecords, a decision for decisionJson, a mesh for decide — is
 * checked by its shape (src/api/shape.ts, guard.ts): every field a renderer
 * reads. A malformed one is a MeshrangeError bad-argument naming the path of
 * its first bad field, never a TypeError from inside a renderer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { MeshrangeError, type RunResult } from '../../src/index.js';

const RENDERERS = [lib.renderJson, lib.renderText, lib.renderJunit, lib.renderMarkdown, lib.renderSarif, lib.renderHtml] as const;
const READERS = [...RENDERERS, lib.stepRecords, lib.trafficRecords] as const;
/** Scenarios whose results hold most of what a renderer reads: requests, a pivot graph, a sniff, a flood, an impersonation. */
const SCENARIOS = ['bookinfo-deny-all', 'bookinfo-pivot-open', 'sniff-permissive-legacy-token', 'flood-rate-limited', 'impersonate-spoofed-xff']
  .map((n) => `scenarios/${n}.yaml`);

let results: RunResult[] = [];
beforeAll(async () => { results = (await lib.runScenarios(SCENARIOS)).results; }, 120_000);

function thrown(f: () => unknown): unknown {
  try { f(); } catch (e) { return e; }
  return undefined;
}

function refused(f: () => unknown, about: RegExp): void {
  const e = thrown(f);
  expect(e, String(e)).toBeInstanceOf(MeshrangeError);
  const issue = (e as MeshrangeError).issues[0];
  expect(issue?.code).toBe('bad-argument');
  expect(issue?.message).toMatch(about);
  expect(issue?.hint?.length).toBeGreaterThan(0);
}

/** A deep copy of the first result with `edit` applied. */
function edited(edit: (r: any) => void): RunResult[] {
  const r = structuredClone(results[0]) as any;
  edit(r);
  return [r];
}

describe('the renderers refuse a malformed run result with MeshrangeError naming the field', () => {
  it('renderers refuse a step that is null, or an id that is no string (report/text, report/junit read them)', () => {
    for (const render of READERS) {
      refused(() => render(edited((r) => { r.steps = [null]; })), /^results\[0\]\.steps\[0\]: expected an object, got null/);
      refused(() => render(edited((r) => { r.steps[0] = { id: 5 }; })), /^results\[0\]\.steps\[0\]\.id: expected a string, got a number/);
    }
  });

  it('renderers refuse stoppedBy that is no list, evidence that is no object, and an outcome that is not one of the three', () => {
    for (const render of RENDERERS) {
      refused(() => render(edited((r) => { r.steps[0].stoppedBy = 'x'; })), /^results\[0\]\.steps\[0\]\.stoppedBy: expected a list, got "x"/);
      refused(() => render(edited((r) => { r.steps[0].evidence = null; })), /^results\[0\]\.steps\[0\]\.evidence: expected an object, got null/);
      refused(() => render(edited((r) => { r.steps[0].outcome = '__proto__'; })), /^results\[0\]\.steps\[0\]\.outcome: expected one of allowed, blocked, partial/);
      refused(() => render(edited((r) => { r.steps[0].stoppedBy = [{ control: 'toString', name: null, reason: 'r' }]; })), /^results\[0\]\.steps\[0\]\.stoppedBy\[0\]\.control: expected a control kind \(AuthorizationPolicy, /);
    }
  });

  it('renderers refuse a hole in a list, and mesh workloads that are no objects (renderHtml draws them)', () => {
    refused(() => lib.renderText(edited((r) => { r.steps = new Array(2); })), /^results\[0\]\.steps\[0\]: expected an object, got nothing/);
    refused(() => lib.renderHtml(edited((r) => { r.mesh = { workloads: [null] }; })), /^results\[0\]\.mesh\.workloads\[0\]: expected an object, got null/);
  });

  it('renderers, stepRecords and trafficRecords throw only MeshrangeError when any field of a real result is null, a number, a string, a list of null or an empty object', () => {
    for (const read of READERS) expect(() => read(results)).not.toThrow(); // as runScenarios returned them: read as before
    const raw: string[] = [];
    const paths = (v: unknown, at: (string | number)[], out: (string | number)[][]): void => {
      if (v === null || typeof v !== 'object' || at.length > 7) return;
      for (const k of Array.isArray(v) ? (v.length > 0 ? [0] : []) : Object.keys(v)) { out.push([...at, k]); paths((v as any)[k], [...at, k], out); }
    };
    for (const result of results) {
      const all: (string | number)[][] = [];
      paths(result, [], all);
      for (const p of all) {
        for (const value of [null, 5, 'x', [null], {}]) {
          const r = structuredClone(result) as any;
          let o = r;
          for (const k of p.slice(0, -1)) o = o[k];
          o[p[p.length - 1] as string] = value;
          for (const read of READERS) {
            const e = thrown(() => read([r]));
            if (e !== undefined && !(e instanceof MeshrangeError)) raw.push(`${p.join('.')} = ${JSON.stringify(value)}: ${read.name}: ${String(e)}`);
          }
        }
      }
    }
    expect(raw.slice(0, 10)).toEqual([]);
  }, 120_000);
});

describe('decisionJson and decide refuse what is not a decision or a mesh', () => {
  it('decisionJson refuses a non-decision ({}, a wrong outcome, stoppedBy of null) and takes what decide returned', async () => {
    refused(() => lib.decisionJson({} as never), /^decision\.outcome: expected one of allowed, blocked, got nothing/);
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    const d = await lib.decide(mesh, { from: 'bookinfo/productpage-v1', to: 'details:9080' }, { now: 0 });
    expect(lib.decisionJson(d)['outcome']).toBe(d.outcome);
    refused(() => lib.decisionJson({ ...d, stoppedBy: [null] } as never), /^decision\.stoppedBy\[0\]: expected an object, got null/);
    refused(() => lib.decisionJson({ ...d, events: null } as never), /^decision\.events: expected a list, got null/);
  });

  it('decide refuses a mesh whose workloads hold null (request.ts reads each workload)', async () => {
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    let e: unknown;
    try { await lib.decide({ ...mesh, workloads: [null] } as never, { from: 'bookinfo/productpage-v1', to: 'details:9080' }, { now: 0 }); } catch (x) { e = x; }
    expect(e).toBeInstanceOf(MeshrangeError);
    expect((e as MeshrangeError).issues[0]?.message).toMatch(/^mesh\.workloads\[0\]: expected an object, got null/);
  });
});
