/** Bad input to the pivot step's fields exits 2 with file:line:col (product.md §3, §5). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const root = path.resolve(__dirname, '../..');
let tmp = '';
let rel = '';

beforeAll(() => {
  tmp = mkdtempSync(path.join(root, 'test', '.tmp-pivot-'));
  rel = path.relative(root, tmp);
});
afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

/** A scenario on the shipped bookinfo mesh whose only step is `step` (one flow-style line, at line 11). */
function scenario(name: string, step: string): string {
  const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata:
  name: ${name}
spec:
  mesh:
    manifests: [../../scenarios/meshes/bookinfo]
  attacker:
    foothold: bookinfo/productpage-v1
  steps:
    - ${step}
`;
  writeFileSync(path.join(tmp, `${name}.yaml`), text);
  return path.join(rel, `${name}.yaml`).split(path.sep).join('/');
}

/** The column of `token` in the step line (`    - ` + step), 1-based. */
const col = (step: string, token: string): number => '    - '.length + step.indexOf(token) + 1;

async function bad(file: string, code: string, col: number): Promise<string> {
  let out = '';
  let err = '';
  const status = await main(['run', file], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  expect(status, err).toBe(2);
  expect(err, err).toContain(`${file}:11:${col}: error [${code}]`);
  expect(err).not.toMatch(/^\s+at .+[:(]/m);
  expect(out).toBe('');
  return err;
}

describe('pivot: bad input exits 2, located', () => {
  it('a pivot that may need more decisions than the bound is refused at the step, before anything runs', async () => {
    const docs = ['apiVersion: v1\nkind: Namespace\nmetadata: { name: big, labels: { istio-injection: enabled } }'];
    for (let i = 0; i < 300; i++) {
      docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: w${i}, namespace: big }
spec:
  selector: { matchLabels: { app: w${i} } }
  template:
    metadata: { labels: { app: w${i} } }
    spec: { containers: [{ name: m, image: x, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: w${i}, namespace: big }
spec: { selector: { app: w${i} }, ports: [{ name: http, port: 80, targetPort: 8080 }] }`);
    }
    writeFileSync(path.join(tmp, 'big-mesh.yaml'), docs.join('\n---\n'));
    const paths = Array.from({ length: 32 }, (_, i) => `/p${i}`).join(', ');
    const text = `apiVersion: meshrange.io/v1alpha1
kind: Scenario
metadata:
  name: too-large
spec:
  mesh:
    manifests: [big-mesh.yaml]
  attacker:
    foothold: big/w0
  steps:
    - { id: p, action: pivot, exploit: all, paths: [${paths}] }
`;
    writeFileSync(path.join(tmp, 'too-large.yaml'), text);
    const f = path.join(rel, 'too-large.yaml').split(path.sep).join('/');
    expect(await bad(f, 'pivot-too-large', 7)).toContain('narrow `exploit`, `ports` or `paths`');
  });

  it('depth 0 is refused at the depth field', async () => {
    const step = '{ id: p, action: pivot, depth: 0 }';
    expect(await bad(scenario('depth-zero', step), 'scenario-invalid', col(step, '0 }'))).toContain('depth');
  });

  it('an exploit list naming a workload that does not exist is refused at that entry, with a suggestion', async () => {
    const step = '{ id: p, action: pivot, exploit: [bookinfo/reviews-v9] }';
    const err = await bad(scenario('exploit-unknown', step), 'unknown-workload', col(step, 'bookinfo/reviews-v9'));
    expect(err).toContain('exploit "bookinfo/reviews-v9" is not a workload of the mesh');
    expect(err).toContain('did you mean');
  });

  it('a target that does not exist is refused at that entry', async () => {
    const step = '{ id: p, action: pivot, targets: [bookinfo/ratings-v1, shop/db] }';
    expect(await bad(scenario('target-unknown', step), 'unknown-workload', col(step, 'shop/db'))).toContain('target "shop/db" is not a workload of the mesh');
  });

  it('outside cannot be taken over nor be a target', async () => {
    const a = '{ id: p, action: pivot, exploit: [outside] }';
    await bad(scenario('exploit-outside', a), 'pivot-exploit-outside', col(a, 'outside'));
    const b = '{ id: p, action: pivot, targets: [outside] }';
    await bad(scenario('target-outside', b), 'pivot-target-outside', col(b, 'outside'));
  });

  it('a path that does not start with / and an empty port list are refused', async () => {
    const a = '{ id: p, action: pivot, paths: [admin] }';
    await bad(scenario('path-relative', a), 'scenario-invalid', col(a, 'admin'));
    const b = '{ id: p, action: pivot, ports: [] }';
    await bad(scenario('ports-empty', b), 'scenario-invalid', col(b, 'ports'));
  });

  it('a field pivot does not read is refused, not ignored', async () => {
    const step = '{ id: p, action: pivot, to: "details:9080" }';
    await bad(scenario('pivot-to', step), 'step-field-unused', col(step, 'to:'));
  });
});
