/**
 * The library's arguments are checked at its door (src/api/guard.ts): a
 * JavaScript caller who passes null, the wrong shape or a huge list gets a
 * MeshrangeError with code `bad-argument`, naming the argument and what to
 * pass — never a TypeError from deep inside, a RangeError from the kernel, a
 * seed the CLI refuses, or a heap run out on a billion-entry list.
 */
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { refused } from './refused.js';
import { MeshrangeError } from '../../src/index.js';

const SCENARIO = 'scenarios/bookinfo-deny-all.yaml';


describe('the library refuses arguments of the wrong shape with MeshrangeError bad-argument', () => {
  it('loadMesh: null, a string, manifests that are no list, or hold null or {}; a reader that is no SourceReader', async () => {
    await refused(() => lib.loadMesh(null as never), /^input: expected an object, got null/);
    await refused(() => lib.loadMesh('x' as never), /^input: expected an object, got a string/);
    await refused(() => lib.loadMesh({ manifests: 5 } as never), /^input\.manifests: expected a list of manifest paths, got a number/);
    await refused(() => lib.loadMesh({ manifests: [null] } as never), /^input\.manifests\[0\]: expected an object, got null/);
    await refused(() => lib.loadMesh({ manifests: [{}] } as never), /^input\.manifests\[0\]\.path: expected a file path/);
    await refused(() => lib.loadMesh({ manifests: ['m'] }, { reader: {} as never }), /^options\.reader: not a SourceReader \(it has no read method\)/);
  });

  it('loadMesh: a namespace for the manifests that is no DNS label is bad-name (it would name workloads backend/sa/api/x)', async () => {
    for (const input of [{ manifests: ['scenarios/meshes/bookinfo'], namespace: 'backend/sa/api' }, { manifests: [{ path: 'scenarios/meshes/bookinfo', namespace: 'Bad_NS' }] }]) {
      let thrown: unknown;
      try { lib.loadMesh(input); } catch (e) { thrown = e; }
      expect((thrown as MeshrangeError).issues.map((i) => i.code)).toEqual(['bad-name']);
    }
  });

  it('a list is judged by its length before any entry: a million manifests or scenario files are refused at once', async () => {
    // the messages are about the count, which only the length check gives: no entry was judged (or read) first
    await refused(() => lib.loadMesh({ manifests: new Array(1_000_000) }), /^input\.manifests: 1000000 manifest paths \(expected 0 to 1000\)/);
    await refused(() => lib.runScenarios(new Array(1_000_000).fill(SCENARIO)), /^files: 1000000 scenario files \(expected 0 to 10000\)/);
  });

  it('memoryReader: a file whose text is not a string, or a value that is no map', async () => {
    await refused(() => lib.memoryReader({ 'a.yaml': 5 } as never), /^files: "a\.yaml" holds a number, not text/);
    await refused(() => lib.memoryReader(null as never), /^files: expected a Map or an object/);
  });

  it('decide: a mesh that is no mesh, a request that is no request, no input with now', async () => {
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    await refused(() => lib.decide(null as never, { from: 'a/b', to: 'c:1' }, { now: 0 }), /^mesh: expected an object, got null/);
    await refused(() => lib.decide({} as never, { from: 'a/b', to: 'c:1' }, { now: 0 }), /^mesh: not a mesh \(it has no workloads list\)/);
    await refused(() => lib.decide(mesh, null as never, { now: 0 }), /^request: expected an object/);
    await refused(() => lib.decide(mesh, { from: 'bookinfo/productpage-v1' } as never, { now: 0 }), /^request\.to: expected a string/);
    await refused(() => (lib.decide as (m: unknown, r: unknown) => Promise<unknown>)(mesh, { from: 'bookinfo/productpage-v1', to: 'details:9080' }), /^input: expected an object/);
  });

  it('lint, blastRadius, assessMeshes and assess: null where a mesh or an input goes', async () => {
    await refused(() => lib.lint(null as never), /^mesh: expected an object/);
    await refused(() => lib.blastRadius(null as never), /^mesh: expected an object/);
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    await refused(() => lib.blastRadius(mesh, { from: {} as never }), /^options\.from: expected a list of workloads, got an object/);
    await refused(() => lib.assessMeshes(null as never, mesh), /^before: expected an object/);
    await refused(() => lib.assess(null as never), /^input: expected an object/);
  });

  it('a non-string workload or rule code is named as such; assess without its readers; the other exports on null', async () => {
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    await refused(() => lib.blastRadius(mesh, { from: [5 as never] }), /^options\.from\[0\]: expected a string, got a number/);
    await refused(() => lib.lint(mesh, { only: [null as never] }), /^options\.only\[0\]: expected a string, got null/);
    const side = { label: 'x', mesh: [], replaceScenarioManifests: true };
    await refused(() => lib.assess({ before: side, after: side, scenarios: [], scenarioReader: lib.fileReader() } as never), /^input\.before\.reader: expected an object, got nothing/);
    await refused(() => lib.assessManifests([null] as never, []), /^before\[0\]: expected an object, got null/);
    await refused(() => lib.assessManifests([{ path: 'a.yaml' }] as never, []), /^before\[0\]\.text: expected a string, got nothing/);
    await refused(() => lib.compareOutcomes(null as never, { steps: [], traffic: [] }), /^before: expected an object/);
    await refused(() => lib.stepRecords([{}] as never), /^results\[0\]: not a run result/);
    await refused(() => lib.trafficRecords(null as never), /^results: expected a list/);
    await refused(() => lib.decisionJson(null as never), /^decision: expected an object/);
    await refused(() => lib.formatIssue({} as never), /^issue\.code: expected a string, got nothing/);
  });

  it('an empty list of manifests is an empty mesh, as before', () => {
    expect(lib.loadMesh({ manifests: [] }).mesh.workloads).toEqual([]);
  });

  it('the renderers: a result that is no run result', async () => {
    for (const render of [lib.renderJson, lib.renderText, lib.renderJunit, lib.renderMarkdown, lib.renderSarif, lib.renderHtml]) {
      await refused(() => render([{}] as never), /^results\[0\]: not a run result/);
    }
  });

  it('runScenario: no file, and seed, maxEvents and workers outside what the CLI accepts (NaN, -1, 1e300)', async () => {
    await refused(() => lib.runScenario({} as never), /^file: expected a file path, got an object/);
    await refused(() => lib.runScenario(SCENARIO, { seed: Number.NaN }), /^options\.seed: NaN is not a whole number from 0 to 2147483647/);
    await refused(() => lib.runScenario(SCENARIO, { seed: -1 }), /^options\.seed: -1/);
    await refused(() => lib.runScenario(SCENARIO, { seed: 1e300 }), /^options\.seed: 1e\+300/);
    await refused(() => lib.runScenario(SCENARIO, { maxEvents: -1 }), /^options\.maxEvents: -1/);
    await refused(() => lib.runScenario(SCENARIO, { workers: 0 }), /^options\.workers: 0/);
  });

  it('good arguments still work: a scenario runs and renders', async () => {
    const r = await lib.runScenario(SCENARIO, { seed: 7 });
    expect(lib.renderJson([r])).toContain('"seed": 7');
  });
});
