/**
 * Files as strangers lay them out (issue 9 items 5 and 6; product.md §5):
 * links in a manifest folder are followed, judged by where they lead; FIFOs,
 * devices, link loops and cycles are refused with exit 2 naming the path —
 * never a hang, never "internal error"; and `run <dir>` says what it found
 * and why it left anything out, so `--check` cannot pass by skipping a file.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, writeScratch } from './harness.js';

const root = path.resolve(__dirname, '../..');
const STACK = /^\s+at .+[:(]/m;

interface Run { code: number; out: string; err: string }

let tmp = '';
let rel = '';

/** Writes `name` under the temp folder; returns its path relative to the repository root. */
const write = (name: string, text: string): string => writeScratch(tmp, rel, name, text);

const NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata: { name: demo, labels: { istio-injection: enabled } }\n';
const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: web, containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: demo }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`;

/** A scenario on the demo/web mesh; `expect` decides whether --check passes (allowed) or fails (blocked). */
function scenarioText(name: string, manifests: string, expect = 'allowed'): string {
  return `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata: { name: ${name} }
spec:
  mesh: { manifests: [${manifests}] }
  attacker: { foothold: demo/web }
  steps: [{ id: a, action: request, to: "web:80", expect: ${expect} }]
`;
}

function mkfifo(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  expect(r.status, String(r.stderr)).toBe(0);
}

beforeAll(() => {
  expect(process.cwd()).toBe(root);
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-hostile-files-'));
  rel = path.relative(root, tmp);
  write('shared/ns.yaml', NAMESPACE);
  write('shared/web.yaml', WEB);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('links in a manifest folder (issue 9 item 5)', () => {
  it('a symlinked manifest file in a folder is read, as kubectl reads it', async () => {
    write('linked-file/mesh/ns.yaml', NAMESPACE);
    symlinkSync('../../shared/web.yaml', path.join(tmp, 'linked-file/mesh/web.yaml'));
    const f = write('linked-file/s.yaml', scenarioText('linked-file', './mesh'));
    const r = await cli('run', f, '--check');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('a symlinked folder inside a manifest folder is walked', async () => {
    mkdirSync(path.join(tmp, 'linked-dir/mesh'), { recursive: true });
    symlinkSync('../../shared', path.join(tmp, 'linked-dir/mesh/shared'));
    const f = write('linked-dir/s.yaml', scenarioText('linked-dir', './mesh'));
    const r = await cli('run', f, '--check');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('a folder link back to a folder it is inside of is a cycle error naming it, not an endless walk', async () => {
    write('cycle/mesh/ns.yaml', NAMESPACE);
    write('cycle/mesh/web.yaml', WEB);
    symlinkSync('..', path.join(tmp, 'cycle/mesh/up'));
    const f = write('cycle/s.yaml', scenarioText('cycle', './mesh'));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${f}:\\d+:\\d+: error \\[path-cycle\\] ${rel}/cycle/mesh/up links back to`));
    expect(r.err).not.toMatch(STACK);
  });

  it('a symbolic link loop among the manifests is refused as a loop, naming it', async () => {
    write('loop/mesh/ns.yaml', NAMESPACE);
    symlinkSync('b.yaml', path.join(tmp, 'loop/mesh/a.yaml'));
    symlinkSync('a.yaml', path.join(tmp, 'loop/mesh/b.yaml'));
    const f = write('loop/s.yaml', scenarioText('loop', './mesh'));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[path-loop] ${rel}/loop/mesh/a.yaml is a symbolic link loop`);
  });

  it('a link in a manifest folder that leads outside the allowed folders is refused as outside, not skipped', async () => {
    write('escape/mesh/ns.yaml', NAMESPACE);
    write('escape/mesh/web.yaml', WEB);
    symlinkSync('/etc/hostname', path.join(tmp, 'escape/mesh/host.yaml'));
    const f = write('escape/s.yaml', scenarioText('escape', './mesh'));
    const r = await cli('run', f, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[path-outside] ${rel}/escape/mesh/host.yaml is a link to /etc/hostname, outside the allowed folders`);
  });
});

describe('links the scan would never read are ignored, not errors', () => {
  it('a dangling link not named *.yaml, an Emacs lock file of a manifest, and a link outside to a non-YAML file are skipped; the mesh loads', async () => {
    write('harmless/mesh/ns.yaml', NAMESPACE);
    write('harmless/mesh/web.yaml', WEB);
    symlinkSync('nowhere', path.join(tmp, 'harmless/mesh/old.txt'));
    symlinkSync('root@host.12345:1700000000', path.join(tmp, 'harmless/mesh/.#web.yaml'));
    symlinkSync('/etc/hostname', path.join(tmp, 'harmless/mesh/hostname'));
    const f = write('harmless/s.yaml', scenarioText('harmless', './mesh'));
    const r = await cli('run', f, '--check');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('a dangling link named *.yaml (not an editor lock) is still an error: a manifest that should be there is not', async () => {
    write('dangling/mesh/ns.yaml', NAMESPACE);
    symlinkSync('gone.yaml', path.join(tmp, 'dangling/mesh/web.yaml'));
    const f = write('dangling/s.yaml', scenarioText('dangling', './mesh'));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[path-missing] ${rel}/dangling/mesh/web.yaml is a symbolic link to nothing`);
  });
});

describe('FIFOs and devices are refused before they are opened (issue 9 item 5)', () => {
  it('a FIFO named *.yaml in a manifest folder is refused naming it, without blocking and without being skipped', async () => {
    write('fifo-in-mesh/mesh/ns.yaml', NAMESPACE);
    write('fifo-in-mesh/mesh/web.yaml', WEB);
    mkfifo(path.join(tmp, 'fifo-in-mesh/mesh/pipe.yaml'));
    const f = write('fifo-in-mesh/s.yaml', scenarioText('fifo-in-mesh', './mesh'));
    const r = await cli('run', f, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[not-a-file] ${rel}/fifo-in-mesh/mesh/pipe.yaml is a named pipe (FIFO), not a YAML file`);
  });

  it('a FIFO given as a manifest file is refused naming it (exit 2)', async () => {
    mkfifo(path.join(tmp, 'direct.yaml'));
    write('fifo-direct/ns.yaml', NAMESPACE);
    const f = write('fifo-direct/s.yaml', scenarioText('fifo-direct', `./ns.yaml, ../direct.yaml`));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[not-a-file] ${rel}/direct.yaml is a named pipe (FIFO)`);
  });

  it('a FIFO given as the scenario is refused (exit 2): no internal error, no hang', async () => {
    mkfifo(path.join(tmp, 'scenario-pipe.yaml'));
    const r = await cli('run', `${rel}/scenario-pipe.yaml`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${rel}/scenario-pipe.yaml is a named pipe (FIFO)`);
    expect(r.err).not.toContain('internal error');
  });

  it('a device given as the scenario (/dev/null) is refused (exit 2): no internal error', async () => {
    const r = await cli('run', '/dev/null');
    expect(r.code).toBe(2);
    expect(r.err).toContain('/dev/null is a device');
    expect(r.err).not.toContain('internal error');
  });

  it('a FIFO inside a scenario folder is an error naming it, not skipped', async () => {
    write('fifo-suite/ok.yaml', scenarioText('fifo-suite-ok', '../shared'));
    mkfifo(path.join(tmp, 'fifo-suite/other.yaml'));
    const r = await cli('run', `${rel}/fifo-suite`, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[not-a-file] ${rel}/fifo-suite/other.yaml is a named pipe (FIFO)`);
  });
});

describe('run <dir>: nothing is silently skipped (issue 9 item 6)', () => {
  it('run <dir> lists on stderr the scenarios it found and each file it ignored with why; JSON stdout stays valid', async () => {
    write('listed/a.yaml', scenarioText('listed-a', '../shared'));
    write('listed/mesh/ns.yaml', NAMESPACE);
    write('listed/README.md', '# notes\n');
    const r = await cli('run', `${rel}/listed`, '--format', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ scenario: 'listed-a' });
    expect(r.err).toContain(`note: ${rel}/listed: 1 scenario file: a.yaml`);
    expect(r.err).toContain(`note: ${rel}/listed: ignored, 1 YAML file without kind: Scenario: mesh/ns.yaml`);
    expect(r.err).toContain(`note: ${rel}/listed: ignored, not *.yaml or *.yml: README.md`);
  });

  it('a scenario written `kind: Scenario # note` in a folder is run, so its failed expectation fails --check', async () => {
    write('commented/ok.yaml', scenarioText('commented-ok', '../shared'));
    write('commented/failing.yaml', scenarioText('commented-failing', '../shared', 'blocked').replace('kind: Scenario', 'kind: Scenario # note'));
    const r = await cli('run', `${rel}/commented`, '--check');
    expect(r.code).toBe(1);
    expect(r.out).toContain('commented-failing');
  });

  it('a scenario written in JSON form in a folder is run, so its failed expectation fails --check', async () => {
    write('json-form/ok.yaml', scenarioText('json-form-ok', '../shared'));
    write('json-form/failing.yaml', JSON.stringify({
      apiVersion: 'meshrange.io/v1alpha1', kind: 'Scenario', metadata: { name: 'json-form-failing' },
      spec: { mesh: { manifests: ['../shared'] }, attacker: { foothold: 'demo/web' }, steps: [{ id: 'a', action: 'request', to: 'web:80', expect: 'blocked' }] },
    }));
    const r = await cli('run', `${rel}/json-form`, '--check');
    expect(r.code).toBe(1);
    expect(r.out).toContain('json-form-failing');
  });

  it('a scenario of more than 1 MiB in a folder is run, not skipped for its size', async () => {
    write('large/ok.yaml', scenarioText('large-ok', '../shared'));
    write('large/failing.yaml', `${scenarioText('large-failing', '../shared', 'blocked')}# ${'x'.repeat(1_200_000)}\n`);
    const r = await cli('run', `${rel}/large`, '--check');
    expect(r.code).toBe(1);
    expect(r.out).toContain('large-failing');
  });

  it('a YAML file too large to read in a scenario folder is an error naming it, not skipped', async () => {
    write('huge/ok.yaml', scenarioText('huge-ok', '../shared'));
    const huge = path.join(tmp, 'huge/huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 9 * 1024 * 1024);
    const r = await cli('run', `${rel}/huge`, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[file-too-large] ${rel}/huge/huge.yaml is 9.0 MiB`);
  });

  it('a YAML file of a scenario folder that does not parse is an error, not skipped', async () => {
    write('broken/ok.yaml', scenarioText('broken-ok', '../shared'));
    write('broken/broken.yaml', 'apiVersion: meshrange.io/v1alpha1\nkind: "Scen\\x61rio"\nmetadata: { name: [oops }\n');
    const r = await cli('run', `${rel}/broken`, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${rel}/broken/broken.yaml:\\d+:\\d+: error \\[yaml-syntax\\]`));
  });

  it('a link in a scenario folder that leads outside the allowed folders is refused as outside', async () => {
    write('suite-escape/ok.yaml', scenarioText('suite-escape-ok', '../shared'));
    symlinkSync('/etc', path.join(tmp, 'suite-escape/etc'));
    const r = await cli('run', `${rel}/suite-escape`);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[path-outside] ${rel}/suite-escape/etc is a link to /etc`);
  });
});

describe('file encodings: UTF-8 only, a byte-order mark skipped', () => {
  it('a manifest with a Latin-1 byte is not-utf8 at its line and column, exit 2, not a label with U+FFFD in it', async () => {
    write('latin1/mesh/ns.yaml', NAMESPACE);
    const [head, tail] = WEB.split('{ app: web }', 2) as [string, string];
    writeFileSync(path.join(tmp, 'latin1/mesh/web.yaml'), Buffer.concat([Buffer.from(`${head}{ app: web, team: caf`), Buffer.from([0xe9]), Buffer.from(` }${tail}`)]));
    const f = write('latin1/s.yaml', scenarioText('latin1', './mesh'));
    const r = await cli('run', f, '--check');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${rel}/latin1/mesh/web.yaml:6:46: error [not-utf8] ${rel}/latin1/mesh/web.yaml is not UTF-8: byte 0xE9 at line 6, column 46`);
    expect(r.err).toContain('fix: save the file as UTF-8');
    expect(r.err).not.toMatch(STACK);
  });

  it('a scenario and a manifest saved with a byte-order mark run as without one (a guard: the YAML reader skips one too; the JSON case below needs readSource to)', async () => {
    write('bom/mesh/ns.yaml', `\ufeff${NAMESPACE}`);
    write('bom/mesh/web.yaml', `\ufeff${WEB}`);
    const f = write('bom/s.yaml', `\ufeff${scenarioText('bom', './mesh')}`);
    const r = await cli('run', f, '--check');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('a JSON report saved with a byte-order mark is merged as without one', async () => {
    const f = write('bom-report/s.yaml', scenarioText('bom-report', '../shared'));
    const json = path.join(tmp, 'bom-report/r.json');
    expect((await cli('run', f, '--shard', '1/1', '--report', `json=${json}`)).code).toBe(0);
    writeFileSync(json, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(json)]));
    const r = await cli('merge', json, '--format', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('"scenario": "bom-report"');
  });
});

describe('the shipped suite still runs through a folder', () => {
  it('run scenarios/ finds every shipped scenario and names the mesh files it ignored', async () => {
    const r = await cli('run', 'scenarios', '--format', 'json', '--check');
    expect(r.code).toBe(0);
    const shipped = readFileSync(path.join(root, 'scenarios/README.md'), 'utf8');
    expect(shipped.length).toBeGreaterThan(0);
    expect(Array.isArray(JSON.parse(r.out))).toBe(true);
    expect(r.err).toMatch(/^note: scenarios: \d+ scenario files: /m);
    expect(r.err).toContain('ignored, not *.yaml or *.yml: README.md, keys/README.md, keys/shop-jwks.json');
  });
});
