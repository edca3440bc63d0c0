/**
 * No input a user can write reaches "internal error" (issue 9 "Done when";
 * product.md §5): every file of the bad-input corpus (test/fixtures/invalid),
 * used as a manifest, as a scenario and inside a scenario folder, and every
 * hostile case of issue 9 items 5-8, ends with exit 2 and located messages —
 * never "internal error", never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, writeScratch, DEMO_MESH } from './harness.js';

const root = path.resolve(__dirname, '../..');
const STACK = /^\s+at .+[:(]/m;
const corpus = readdirSync(path.join(root, 'test/fixtures/invalid')).filter((f) => f.endsWith('.yaml')).sort();

let tmp = '';
let rel = '';

const write = (name: string, text: string): string => writeScratch(tmp, rel, name, text);

const MESH = DEMO_MESH;

function scenario(name: string, opts: { manifests?: string; steps?: string; extra?: string } = {}): string {
  return write(`${name}.yaml`, `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  mesh: { manifests: [${opts.manifests ?? './mesh'}] }
${opts.extra ?? ''}  attacker: { foothold: demo/web }
  steps:
${opts.steps ?? '    - { id: a, action: wait, for: 1s }\n'}`);
}

/** Exit 2, something said on stderr, and neither "internal error" nor a stack frame anywhere. */
async function refused(...argv: string[]): Promise<string> {
  const r = await cli(...argv);
  expect(r.err, argv.join(' ')).not.toContain('internal error');
  expect(r.err, argv.join(' ')).not.toMatch(STACK);
  expect(r.code, `${argv.join(' ')}\n${r.err}`).toBe(2);
  expect(r.err.length).toBeGreaterThan(0);
  return r.err;
}

beforeAll(() => {
  expect(process.cwd()).toBe(root);
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-no-internal-'));
  rel = path.relative(root, tmp);
  write('mesh/mesh.yaml', MESH);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the bad-input corpus never reaches "internal error"', () => {
  for (const f of corpus) {
    it(`test/fixtures/invalid/${f} as a manifest, as a scenario and in a scenario folder: exit 2, no internal error`, async () => {
      const fixture = `../../test/fixtures/invalid/${f}`;
      await refused('run', scenario(`as-manifest-${f.replace(/\.yaml$/, '')}`, { manifests: `./mesh, ${fixture}` }));
      await refused('run', `test/fixtures/invalid/${f}`);
      const folder = `folder-${f.replace(/\.yaml$/, '')}`;
      mkdirSync(path.join(tmp, folder), { recursive: true });
      writeFileSync(path.join(tmp, folder, f), readFileSync(path.join(root, 'test/fixtures/invalid', f)));
      await refused('run', `${rel}/${folder}`);
    });
  }
});

describe('hostile cases of issue 9 items 5-8 never reach "internal error"', () => {
  it('special files: /dev/null and a FIFO as the scenario, a FIFO and a folder as a manifest, a folder as a JWKS', async () => {
    expect(spawnSync('mkfifo', [path.join(tmp, 'pipe.yaml')]).status).toBe(0);
    await refused('run', '/dev/null');
    await refused('run', `${rel}/pipe.yaml`);
    await refused('run', scenario('fifo-manifest', { manifests: './mesh, ./pipe.yaml' }));
    mkdirSync(path.join(tmp, 'jwks-dir'), { recursive: true });
    const folderErr = await refused('run', write('jwks-folder.yaml', `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: jwks-folder }
spec:
  mesh: { manifests: [./mesh], jwks: { "https://auth.example.com/jwks": ./jwks-dir } }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: wait, for: 1s }]
`));
    // a JWKS is JSON: the fix does not ask for a YAML file
    expect(folderErr).toContain('[not-a-file]');
    expect(folderErr).not.toContain('name a YAML file');
    const reqErr = await refused('request', '--mesh', 'scenarios/meshes/capture', '--from', 'shop/web', '--to', 'payments.shop:80', '--jwks', `https://auth.example.com/jwks=${rel}/jwks-dir`);
    expect(reqErr).toContain(`[not-a-file] ${rel}/jwks-dir is a folder, not a regular file`);
    expect(reqErr).toContain('fix: name the JSON Web Key Set\'s file: --jwks https://auth.example.com/jwks=keys/jwks.json');
    // JSON that is not an object (null, a number, a list) as a JWKS: said as such, not as a TypeError's text
    for (const [name, text] of [['null', 'null'], ['num', '5'], ['list', '[]']] as const) {
      writeFileSync(path.join(tmp, `jwks-${name}.json`), text);
      const err = await refused('run', write(`jwks-${name}.yaml`, `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: jwks-${name} }
spec:
  mesh: { manifests: [./mesh], jwks: { "https://auth.example.com/jwks": ./jwks-${name}.json } }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: wait, for: 1s }]
`));
      expect(err).toMatch(/\[bad-jwks\] .*is not a JSON Web Key Set: it holds (null|a number|a list), not an object/);
      expect(err).not.toMatch(/Cannot read properties/);
    }
    // a stand-in set of more keys than any issuer uses: refused before a token is checked against each
    writeFileSync(path.join(tmp, 'jwks-many.json'), JSON.stringify({ keys: Array.from({ length: 101 }, () => ({ kty: 'oct', kid: 'k', k: 'c2VjcmV0' })) }));
    const many = await refused('run', write('jwks-many.yaml', `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: jwks-many }
spec:
  mesh: { manifests: [./mesh], jwks: { "https://auth.example.com/jwks": ./jwks-many.json } }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: wait, for: 1s }]
`));
    expect(many).toMatch(/\[bad-jwks\] .*holds 101 keys; meshrange reads at most 100/);
  });

  it('scenarios that abuse YAML: merge of a scalar, an alias bomb, __proto__ keys, control characters, deep nesting', async () => {
    await refused('run', write('merge-scalar.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nmetadata: { <<: 5, name: x }\n'));
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    await refused('run', write('bomb.yaml', `apiVersion: meshrange.io/v1alpha1\nkind: Scenario\n${bomb.join('\n')}\n`));
    await refused('run', scenario('proto', { extra: '  __proto__: { polluted: 1 }\n  workloads: { constructor: { exploitable: true } }\n' }));
    await refused('run', scenario('controls', { steps: '    - { id: "\\e[2J", action: request, to: "web.demo:80", headers: { "x\\u0000": "\\u202e" } }\n' }));
    await refused('run', write('deep.yaml', `apiVersion: meshrange.io/v1alpha1\nkind: Scenario\nspec: ${'['.repeat(5000)}${']'.repeat(5000)}\n`));
  });

  it('scenarios with values that point nowhere: sourceIp, port 0, a port over 65535, a flood for 0s, an unknown workload', async () => {
    await refused('run', scenario('bad-ip', { steps: '    - { id: a, action: request, from: outside, to: "web.demo:80", sourceIp: "not-an-ip" }\n' }));
    await refused('run', scenario('port-zero', { steps: '    - { id: a, action: request, to: "web.demo:0" }\n' }));
    await refused('run', scenario('port-big', { steps: '    - { id: a, action: request, to: "workload/demo/web:99999" }\n' }));
    await refused('run', scenario('flood-zero', { steps: '    - { id: a, action: flood, to: "web.demo:80", rate: 10/s, for: 0s }\n' }));
    await refused('run', scenario('nobody', { steps: '    - { id: a, action: request, from: demo/nobody, to: "web.demo:80" }\n' }));
  });

  it('reports that cannot be written: a folder, a full device, a system path, an input, the same file twice', async () => {
    const ok = scenario('reports-ok');
    mkdirSync(path.join(tmp, 'report-dir'), { recursive: true });
    await refused('run', ok, '--report', `json=${rel}/report-dir`);
    await refused('run', ok, '--report', 'json=/dev/full');
    await refused('run', ok, '--report', 'json=/proc/meshrange-report.json');
    await refused('run', ok, '--report', `json=${ok}`);
    await refused('run', ok, '--report', `json=${rel}/r.json`, '--report', `junit=${rel}/r.json`);
  });

  it('a scenario folder holding a file too large to read', async () => {
    write('big-suite/ok.yaml', readFileSync(path.join(root, scenario('big-ok', { manifests: '../mesh' })), 'utf8'));
    writeFileSync(path.join(tmp, 'big-suite/huge.yaml'), '');
    truncateSync(path.join(tmp, 'big-suite/huge.yaml'), 9 * 1024 * 1024);
    await refused('run', `${rel}/big-suite`);
  });
});
