/** `meshrange assess` says when there is nothing to compare, rather than a bare risk "same". */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, DEMO_MESH } from './harness.js';

const NAMESPACE_ONLY = 'apiVersion: v1\nkind: Namespace\nmetadata: { name: demo }\n';

function folder(text: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'meshrange-assess-'));
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'mesh.yaml'), text);
  return d;
}

describe('assess warnings', () => {
  it('two meshes without a workload: a warning on stderr and in the JSON warnings says there is nothing to compare, and the risk reason says so (risk same, exit 0)', async () => {
    const r = await cli('assess', '--before', folder(NAMESPACE_ONLY), '--after', folder(NAMESPACE_ONLY), '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { risk: string; riskReasons: string[]; warnings: string[] };
    expect(report.risk).toBe('same');
    expect(report.riskReasons).toEqual(['nothing was compared: no workload on either side and no scenario']);
    expect(report.warnings).toHaveLength(3);
    expect(report.warnings[2]).toMatch(/^nothing to compare: neither mesh has a workload and no scenario ran, so risk "same" says nothing about the change/);
    expect(r.err).toContain('warning: nothing to compare: neither mesh has a workload');
    expect(r.err).toMatch(/warning: before \(.*\): the mesh has no workload \(no Deployment, StatefulSet, DaemonSet, ReplicaSet or Pod among its manifests\)/);
    const text = await cli('assess', '--before', folder(NAMESPACE_ONLY), '--after', folder(NAMESPACE_ONLY));
    expect(text.out).toContain('nothing was compared');
    expect(text.err).toContain('warning: nothing to compare');
  });

  it('one side without a workload: that side is named in a warning, and the comparison still counts (no "nothing to compare")', async () => {
    const r = await cli('assess', '--before', folder(NAMESPACE_ONLY), '--after', folder(DEMO_MESH), '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { warnings: string[] };
    expect(report.warnings).toEqual([expect.stringMatching(/^before \(.*\): the mesh has no workload/)]);
    expect(r.err).not.toContain('nothing to compare');
  });

  it('two meshes with workloads: the JSON warnings are empty and stderr says nothing', async () => {
    const r = await cli('assess', '--before', folder(DEMO_MESH), '--after', folder(DEMO_MESH), '--format', 'json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { warnings: string[] }).warnings).toEqual([]);
    expect(r.err).toBe('');
  });

  it('an empty folder is no mesh at all: exit 2, the folder named, no report', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'meshrange-assess-'));
    const r = await cli('assess', '--before', empty, '--after', folder(DEMO_MESH), '--format', 'json');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[no-manifests]');
    expect(r.out).toBe('');
  });
});
