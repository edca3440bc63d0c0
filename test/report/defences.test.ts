/** How reports render defence in depth (product.md §3.2). */
import { describe, expect, it } from 'vitest';
import { renderJson, stepJson } from '../../src/report/json.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { defenceLine, renderText } from '../../src/report/text.js';
import type { RunResult, StepResult } from '../../src/scenario/types.js';

function blocked(): StepResult {
  return {
    id: 'web-to-db', action: 'request', outcome: 'blocked', expected: 'blocked', code: null, mtls: false, attack: true, expectationMet: true,
    from: 'frontend/web', to: 'db.backend:5432', t: 0, evidence: { events: [] },
    stoppedBy: [{ control: 'PeerAuthentication', name: 'backend/default', reason: 'STRICT' }],
    defences: [
      { control: 'PeerAuthentication', name: 'backend/default', reason: 'STRICT', sole: false },
      { control: 'AuthorizationPolicy', name: 'backend/allow-api', reason: 'no ALLOW matched', sole: true },
    ],
  };
}

function report(steps: StepResult[]): RunResult {
  return {
    scenario: 'demo', file: 'demo.yaml', seed: 1, verdict: 'contained', expectations: { passed: 1, failed: 0 }, steps, traffic: [], warnings: [], fingerprint: 'x',
    controls: [{ control: 'AuthorizationPolicy', name: 'backend/allow-api', stops: 1, soleStops: 1 }, { control: 'PeerAuthentication', name: 'backend/default', stops: 1, soleStops: 0 }],
  };
}

describe('defences in reports', () => {
  it('the step JSON carries defences right after stoppedBy, each {control, name, reason, sole}', () => {
    const keys = Object.keys(stepJson(blocked()));
    expect(keys.indexOf('defences')).toBe(keys.indexOf('stoppedBy') + 1);
    expect(stepJson(blocked())['defences']).toEqual([
      { control: 'PeerAuthentication', name: 'backend/default', reason: 'STRICT', sole: false },
      { control: 'AuthorizationPolicy', name: 'backend/allow-api', reason: 'no ALLOW matched', sole: true },
    ]);
  });

  it('a control that cannot be removed is rendered with removable: false', () => {
    const s = blocked();
    s.defences = [{ control: 'CertificateValidity', name: 'a/x', reason: 'expired', sole: false, removable: false }];
    expect(stepJson(s)['defences']).toEqual([{ control: 'CertificateValidity', name: 'a/x', reason: 'expired', sole: false, removable: false }]);
  });

  it('the JSON report carries controls after traffic', () => {
    const o = JSON.parse(renderJson([report([blocked()])])) as Record<string, unknown>;
    const keys = Object.keys(o);
    expect(keys.indexOf('controls')).toBe(keys.indexOf('traffic') + 1);
    expect(o['controls']).toEqual([{ control: 'AuthorizationPolicy', name: 'backend/allow-api', stops: 1, soleStops: 1 }, { control: 'PeerAuthentication', name: 'backend/default', stops: 1, soleStops: 0 }]);
  });

  it('the text report says "stopped by A; would also stop: B; sole: B" and ranks the controls', () => {
    expect(defenceLine(blocked())).toBe('stopped by PeerAuthentication backend/default; would also stop: AuthorizationPolicy backend/allow-api; sole: AuthorizationPolicy backend/allow-api');
    const text = renderText([report([blocked()])]);
    expect(text).toContain('defences: stopped by PeerAuthentication backend/default; would also stop');
    expect(text).toContain('controls: AuthorizationPolicy backend/allow-api stops 1 (alone 1); PeerAuthentication backend/default stops 1 (alone 0)');
  });

  it('with no single control holding the step, the text says sole: none', () => {
    const s = blocked();
    s.defences = (s.defences ?? []).map((d) => ({ ...d, sole: false }));
    expect(defenceLine(s)).toMatch(/; sole: none$/);
  });

  it('a step that got through has no defence line', () => {
    const s = blocked();
    s.outcome = 'allowed'; s.stoppedBy = []; s.defences = [];
    expect(defenceLine(s)).toBeNull();
  });

  it('markdown gains a defences column and a controls table; JUnit puts the defences in system-out', () => {
    const md = renderMarkdown([report([blocked()])]);
    expect(md).toContain('| stopped by | defences |');
    expect(md).toContain('| AuthorizationPolicy backend/allow\\-api | 1 | 1 |'); // Markdown-escaped (core/escape.ts)
    expect(renderJunit([report([blocked()])])).toContain('sole: AuthorizationPolicy backend/allow-api</system-out>');
  });
});
