/** Runs the CLI in-process, capturing stdout, stderr and the exit code (shared by the CLI tests). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function cli(...argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

/** A one-namespace mesh (demo/web, injected) for CLI tests that need some manifests. */
export const DEMO_MESH = `apiVersion: v1
kind: Namespace
metadata: { name: demo, labels: { istio-injection: enabled } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: web, containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
`;

/** Writes `text` at `name` under the scratch folder `tmp`; returns the path as `rel` (relative to the repo root) names it. */
export function writeScratch(tmp: string, rel: string, name: string, text: string): string {
  const p = path.join(tmp, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return path.join(rel, name);
}
