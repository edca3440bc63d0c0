/**
 * Options and lists the library takes are taken as written or refused: a
 * misspelt option key (`{ sed: 5 }`) would be ignored without a word, and a
 * sparse list (`new Array(3)`) skipped by forEach, so the call would quietly
 * do something else than asked. Both are MeshrangeError bad-argument, the
 * option's hint naming the one it most likely meant.
 */
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { refused } from './refused.js';

const SCENARIO = 'scenarios/bookinfo-deny-all.yaml';

describe('unknown option keys are refused, with the option meant', () => {
  it('runScenario refuses an unknown option: { sed: 5 } is "did you mean seed?", nothing run', async () => {
    await refused(() => lib.runScenario(SCENARIO, { sed: 5 } as never), /^options: unknown option "sed"/, /^did you mean seed\?$/);
    await refused(() => lib.runScenarios([SCENARIO], { worker: 2 } as never), /^options: unknown option "worker"/, /^did you mean workers\?$/);
    await refused(() => lib.runScenario(SCENARIO, { colour: true } as never), /^options: unknown option "colour"/, /^the options are seed, maxEvents, reader, workers$/);
  });

  it('every options object of the library refuses an unknown key: loadMesh, decide, lint, blastRadius, fileReader, assess, compareOutcomes', async () => {
    await refused(() => lib.loadMesh({ manifests: [], namespaces: 'x' } as never), /^input: unknown option "namespaces"/, /did you mean namespace\?/);
    await refused(() => lib.loadMesh({ manifests: [{ path: 'm', ns: 'x' }] } as never), /^input\.manifests\[0\]: unknown option "ns"/);
    await refused(() => lib.loadMesh({ manifests: [] }, { reeder: lib.fileReader() } as never), /^options: unknown option "reeder"/, /did you mean reader\?/);
    await refused(() => lib.fileReader({ allowPath: ['.'] } as never), /^options: unknown option "allowPath"/, /did you mean allowPaths\?/);
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    await refused(() => lib.decide(mesh, { from: 'bookinfo/productpage-v1', to: 'details:9080' }, { now: 0, jwk: {} } as never), /^input: unknown option "jwk"/, /did you mean jwks\?/);
    await refused(() => lib.lint(mesh, { onyl: [] } as never), /^options: unknown option "onyl"/, /did you mean only\?/);
    await refused(() => lib.blastRadius(mesh, { dpeth: 2 } as never), /^options: unknown option "dpeth"/, /did you mean depth\?/);
    const side = { label: 'x', reader: lib.fileReader(), mesh: [], replaceScenarioManifests: true };
    await refused(() => lib.assess({ before: side, after: side, scenarios: [], scenarioReader: lib.fileReader(), sead: 1 } as never), /^input: unknown option "sead"/, /did you mean seed\?/);
    await refused(() => lib.assess({ before: { ...side, lable: 'y' }, after: side, scenarios: [], scenarioReader: lib.fileReader() } as never), /^input\.before: unknown option "lable"/, /did you mean label\?/);
    await refused(() => lib.compareOutcomes({ steps: [], traffic: [] }, { steps: [], traffic: [] }, { tolerance: 1 } as never), /^options: unknown option "tolerance"/, /trafficTolerance/);
    await refused(() => lib.decide(mesh, { from: 'bookinfo/productpage-v1', to: 'details:9080', metod: 'DELETE' } as never, { now: 0 }), /^request: unknown option "metod"/, /did you mean method\?/);
  });

  it('the keys each options object declares still pass: a seed is the run\'s seed, a request\'s method is the one decided', async () => {
    expect((await lib.runScenario(SCENARIO, { seed: 5 })).seed).toBe(5);
    const { mesh } = lib.loadMesh({ manifests: ['scenarios/meshes/bookinfo'] });
    const d = await lib.decide(mesh, { from: 'bookinfo/productpage-v1', to: 'details:9080', method: 'DELETE', path: '/x' }, { now: 0 });
    expect(d.events.map((e) => e.what).join('\n')).toContain('DELETE');
  });
});

describe('sparse lists and entries that are no file paths are refused', () => {
  it('runScenarios refuses a sparse list (new Array(3) ran nothing and returned { results: [] }) and a file that is no string', async () => {
    await refused(() => lib.runScenarios(new Array(3)), /^files\[0\]: an empty slot in the list \(a sparse array\)/);
    await refused(() => lib.runScenarios([SCENARIO, , SCENARIO] as string[]), /^files\[1\]: an empty slot in the list/);
    await refused(() => lib.runScenarios([SCENARIO, 5] as never), /^files\[1\]: expected a file path, got a number/);
    await refused(() => lib.loadMesh({ manifests: new Array(2) }), /^input\.manifests\[0\]: an empty slot in the list/);
    await refused(() => lib.lint(lib.loadMesh({ manifests: [] }).mesh, { only: new Array(1) }), /^options\.only\[0\]: an empty slot in the list/);
    await refused(() => lib.renderText(new Array(1)), /^results\[0\]: an empty slot in the list/);
  });
});
