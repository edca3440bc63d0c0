/** The exercise engine's rules: the format's validation, scoring, hints, and what `why` says. */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../src/core/issues.js';
import { scoring } from '../../src/exercise/check.js';
import { MAX_PROGRESS_CHARS, parseAttack, parseExercise, parseProgress } from '../../src/exercise/load.js';
import { judgeObjective, stoppedByMatches } from '../../src/exercise/objectives.js';
import { renderExerciseJson, renderExerciseText } from '../../src/exercise/report.js';
import { EXERCISES, mustPlay, play, scratch } from './play.js';

const HEAD = `apiVersion: meshrange.io/v1alpha1
kind: Exercise
metadata: { name: demo }
spec:
  title: Demo
  level: beginner
  role: defender
  story: A story.
  scenario: scenario.yaml
`;
const OBJ = `  objectives:
    - { id: a, text: A, kind: attack, step: s1, outcome: blocked, points: 60 }
    - { id: b, text: B, kind: legit, traffic: { from: x/y, to: "z:80" }, points: 40 }
`;

function parse(text: string): { ex: ReturnType<typeof parseExercise>; issues: IssueList } {
  const issues = new IssueList();
  return { ex: parseExercise('ex/exercise.yaml', text, issues), issues };
}

describe('exercise.yaml validation', () => {
  it('accepts the format and defaults passScore to the sum of the points', () => {
    const { ex, issues } = parse(HEAD + OBJ);
    expect(issues.errors).toEqual([]);
    expect(scoring(ex!, new Set(['a', 'b']), 0)).toEqual({ score: 100, max: 100, hintCost: 0, passScore: 100 });
  });

  it('refuses an unknown field with its file, line and column', () => {
    const { ex, issues } = parse(HEAD.replace('  level: beginner\n', '  level: beginner\n  difficulty: 3\n') + OBJ);
    expect(ex).toBeNull();
    expect(issues.errors[0]).toMatchObject({ code: 'exercise-unknown-field', loc: { file: 'ex/exercise.yaml', line: 7, col: 3 } });
    expect(issues.errors[0]?.message).toContain('"difficulty"');
  });

  it('refuses two objectives with the same id', () => {
    const { issues } = parse(HEAD + OBJ.replace('id: b,', 'id: a,'));
    expect(issues.errors.map((e) => e.message)).toEqual([expect.stringContaining('objective id "a" is already used')]);
  });

  it('refuses an objective that names both a step and a traffic flow', () => {
    const { issues } = parse(HEAD + OBJ.replace('step: s1, outcome: blocked,', 'step: s1, outcome: blocked, traffic: { from: x/y, to: "z:80" },'));
    expect(issues.errors.some((e) => /exactly one of step, traffic or reach/.test(e.message))).toBe(true);
  });

  it('refuses a reach objective in a defender exercise', () => {
    const { issues } = parse(HEAD + OBJ.replace('step: s1, outcome: blocked,', 'reach: ns/crown,'));
    expect(issues.errors.some((e) => /reach is for attack objectives of attacker exercises/.test(e.message))).toBe(true);
  });

  it('refuses a scenario path that leaves the exercise folder', () => {
    for (const bad of ['../other/scenario.yaml', '/etc/scenario.yaml', 'a/../../b.yaml']) {
      const { ex, issues } = parse(HEAD.replace('scenario: scenario.yaml', `scenario: ${bad}`) + OBJ);
      expect(ex).toBeNull();
      expect(issues.errors[0]).toMatchObject({ code: 'exercise-invalid', loc: { line: 9 } });
    }
  });

  it('a number out of bounds or of the wrong type says what to write: the bound, or the type and where the format is', () => {
    const big = parse(HEAD + OBJ.replace('points: 60', 'points: 99999999999999999999'));
    expect(big.issues.errors).toHaveLength(1);
    expect(big.issues.errors[0]?.hint).toMatch(/^use at most \d+$/);
    const typed = parse(HEAD + OBJ.replace('points: 60', 'points: "sixty"'));
    expect(typed.issues.errors[0]?.hint).toBe('write a number here: the field\'s format is in the exercise format (exercises/README.md)');
  });

  it('refuses a passScore above the points available', () => {
    const { issues } = parse(`${HEAD + OBJ}  passScore: 101\n`);
    expect(issues.errors[0]).toMatchObject({ code: 'exercise-pass-score', loc: { line: 13 } });
  });

  it('bounds the objectives: 33 are refused', () => {
    const many = Array.from({ length: 33 }, (_, i) => `    - { id: o${i}, text: T, kind: attack, step: s, outcome: blocked, points: 1 }`).join('\n');
    const { ex, issues } = parse(`${HEAD}  objectives:\n${many}\n`);
    expect(ex).toBeNull();
    expect(issues.errors[0]?.message).toMatch(/objectives/);
  });

  it('refuses attack.yaml fields a step does not have, located in attack.yaml', () => {
    const issues = new IssueList();
    expect(parseAttack('w/attack.yaml', 'steps:\n  - id: x\n    action: request\n    too: a:80\n', issues)).toBeNull();
    expect(issues.errors[0]).toMatchObject({ code: 'attack-unknown-field', loc: { file: 'w/attack.yaml', line: 4, col: 5 } });
  });

  it('refuses a hand-edited progress file that claims negative hints', () => {
    const issues = new IssueList();
    expect(parseProgress('w/.meshrange-exercise.json', '{"name":"demo","hintsTaken":-1}', issues)).toBeNull();
    expect(issues.errors[0]?.code).toBe('exercise-progress');
    // located at the field, read from the file when asked
    expect(issues.errors[0]?.loc).toMatchObject({ line: 1, col: 29 });
  });

  it('refuses a progress file larger than a name and a count without reading it (an 8 MB one took 3.8 GB to locate)', () => {
    const issues = new IssueList();
    const big = `{"name":"demo","hintsTaken":0,"pad":"${'x'.repeat(MAX_PROGRESS_CHARS)}"}`;
    expect(parseProgress('w/.meshrange-exercise.json', big, issues)).toBeNull();
    expect(issues.errors.map((e) => [e.code, e.loc?.line])).toEqual([['exercise-progress', 1]]);
    expect(issues.errors[0]?.message).toMatch(/holds 65,5\d\d characters/);
  });
});

describe('scoring', () => {
  const { ex } = parse(`${HEAD + OBJ}  hints:\n    - { text: h1, cost: 5 }\n    - { text: h2, cost: 70 }\n`);
  it('takes the cost of each hint taken off the points of the met objectives', () => {
    expect(scoring(ex!, new Set(['a']), 1)).toMatchObject({ score: 55, max: 100, hintCost: 5 });
  });
  it('never goes below 0', () => {
    expect(scoring(ex!, new Set(['b']), 2)).toMatchObject({ score: 0, hintCost: 75 });
  });
});

describe('stoppedBy of an objective', () => {
  const s = { control: 'PeerAuthentication' as const, name: 'backend/default', reason: 'r' };
  it('matches a control kind, a namespace/name, or both', () => {
    expect(stoppedByMatches(s, 'PeerAuthentication')).toBe(true);
    expect(stoppedByMatches(s, 'backend/default')).toBe(true);
    expect(stoppedByMatches(s, 'PeerAuthentication backend/default')).toBe(true);
    expect(stoppedByMatches(s, 'AuthorizationPolicy')).toBe(false);
    expect(stoppedByMatches(s, 'AuthorizationPolicy backend/default')).toBe(false);
  });
});

describe('checking first-strict (defender)', () => {
  const dir = path.join(EXERCISES, 'first-strict');

  it('why of an unmet attack objective names the control that let the step through and not the fix', async () => {
    const { report } = await mustPlay({ dir, mesh: [path.join(dir, 'mesh')], hintsTaken: 0 });
    const o = report.objectives.find((x) => x.id === 'db-refuses-plaintext');
    expect(o?.met).toBe(false);
    expect(o?.why).toContain('PERMISSIVE');
    expect(o?.why).toContain('PeerAuthentication');
    expect(o?.why).toContain('mesh/');
    expect(o?.why).not.toMatch(/STRICT|sidecar\.istio\.io\/inject/);
  });

  it('why of a broken legitimate flow names what refused it, with the counts', async () => {
    const deny = path.join(scratch(), 'deny.yaml');
    writeFileSync(deny, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all, namespace: istio-system}\nspec: {}\n');
    const broken = (await mustPlay({ dir, mesh: [path.join(dir, 'solution'), deny], hintsTaken: 0 })).report;
    const o = broken.objectives.find((x) => x.id === 'batch-keeps-working');
    expect(o?.met).toBe(false);
    expect(o?.why).toMatch(/^legacy\/batch → api\.backend:80 is broken: 0 of \d+ requests answered .* Refused by AuthorizationPolicy istio-system\/deny-all \(\d+\)/);
  });

  it('a step objective whose step is missing is unmet and says so', async () => {
    const run = await mustPlay({ dir, hintsTaken: 0 });
    const j = judgeObjective({ id: 'x', text: 'x', kind: 'attack', step: 'no-such-step', outcome: 'blocked', points: 1 }, run.result, new Set());
    expect(j).toEqual({ met: false, why: 'The scenario has no step "no-such-step" any more, so this objective cannot be judged.' });
  });

  it('a step blocked by another control than the objective\'s stoppedBy is unmet, naming both', async () => {
    const run = await mustPlay({ dir, mesh: [path.join(dir, 'solution')], hintsTaken: 0 });
    const j = judgeObjective({ id: 'x', text: 'x', kind: 'attack', step: 'plaintext-to-db', outcome: 'blocked', stoppedBy: 'NetworkPolicy', points: 1 }, run.result, new Set());
    expect(j.met).toBe(false);
    expect(j.why).toContain('ends blocked, stopped by PeerAuthentication');
    expect(j.why).toContain('counts only NetworkPolicy');
  });

  it('STRICT alone breaks the sidecar-less legacy client and does not pass; the solution does', async () => {
    const mesh = path.join(scratch(), 'mesh');
    cpSync(path.join(dir, 'mesh'), mesh, { recursive: true });
    cpSync(path.join(dir, 'solution', 'backend.yaml'), path.join(mesh, 'backend.yaml'));
    const { report } = await mustPlay({ dir, mesh: [mesh], hintsTaken: 0 });
    expect(report.objectives.filter((o) => !o.met).map((o) => o.id)).toEqual(['batch-keeps-working']);
    expect(report.passed).toBe(false);
    expect(report.objectives.find((o) => o.id === 'batch-keeps-working')?.why).toContain('PeerAuthentication backend/default');
  });

  it('hints taken come off the score, in order', async () => {
    const { report } = await mustPlay({ dir, mesh: [path.join(dir, 'solution')], hintsTaken: 2 });
    expect(report).toMatchObject({ score: 85, max: 100, hintsTaken: 2, hintCost: 15 });
    expect(renderExerciseText(report)).toContain('2 hints taken (-15)');
  });
});

describe('checking attacker exercises', () => {
  const attack = (text: string): string => {
    const d = scratch();
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'attack.yaml'), text);
    return path.join(d, 'attack.yaml');
  };

  it('a reach objective counts only steps of attack.yaml, not the scenario\'s own', async () => {
    const dir = path.join(EXERCISES, 'steal-and-replay');
    const { report } = await mustPlay({ dir, attack: attack('steps: []\n'), hintsTaken: 0 });
    expect(report.objectives[0]?.why).toContain('attack.yaml has no step yet');
  });

  it('reach is judged on the steps of attack.yaml only: the same allowed step counts when it is the trainee\'s', async () => {
    const dir = path.join(EXERCISES, 'first-strict');
    const run = await mustPlay({ dir, hintsTaken: 0 });
    const o = { id: 'r', text: 'r', kind: 'attack' as const, reach: 'backend/api', points: 1 };
    expect(judgeObjective(o, run.result, new Set()).met).toBe(false);
    expect(judgeObjective(o, run.result, new Set(['plaintext-to-api']))).toEqual({ met: true, why: null });
  });

  it('a step of attack.yaml from a workload the attacker does not control reaches nothing for it', async () => {
    const dir = path.join(EXERCISES, 'crown-jewel-path');
    const { report, result } = await mustPlay({ dir, attack: attack('steps:\n  - { id: borrowed, action: request, from: bookinfo/reviews-v2, to: "ratings:9080", path: /ratings/0 }\n'), hintsTaken: 0 });
    expect(result.steps.find((s) => s.id === 'borrowed')).toMatchObject({ outcome: 'allowed', attack: false });
    const crown = report.objectives.find((x) => x.id === 'crown-reached');
    expect(crown?.met).toBe(false);
    expect(crown?.why).toContain('None of the 1 step(s) of attack.yaml is an attack step');
  });

  it('attack.yaml may not sign a token with the issuer\'s trusted key: the attacker holds no such key (located error, nothing scored)', async () => {
    const dir = path.join(EXERCISES, 'steal-and-replay');
    const file = attack('steps:\n  - { id: forged, action: request, to: "api.backend:80", path: /get, jwt: { iss: "https://auth.shop.example", sub: eve, aud: shop-api, expiresIn: 1h } }\n');
    const { run, issues } = await play({ dir, attack: file, hintsTaken: 0 });
    expect(run).toBeNull();
    expect(issues.errors[0]).toMatchObject({ code: 'attack-states-facts', loc: { line: 2 } });
    expect(issues.errors[0]?.hint).toContain('signer: untrusted');
  });

  it('a token the attacker signed with its own key is refused by the RequestAuthentication and does not meet `using: stolen-jwt`', async () => {
    const dir = path.join(EXERCISES, 'steal-and-replay');
    const { report } = await mustPlay({ dir, attack: attack('steps:\n  - { id: forged, action: request, to: "api.backend:80", path: /get, jwt: { iss: "https://auth.shop.example", sub: eve, aud: shop-api, expiresIn: 1h, signer: untrusted } }\n'), hintsTaken: 0 });
    const o = report.objectives[0];
    expect(o?.met).toBe(false);
    expect(o?.why).toMatch(/Step "forged" tried backend\/api and was stopped by RequestAuthentication/);
  });

  it('attack.yaml may not say which workloads a pivot takes over: exploit is the scenario\'s fact (located error, nothing scored)', async () => {
    const dir = path.join(EXERCISES, 'crown-jewel-path');
    const file = attack('steps:\n  - id: c\n    action: pivot\n    exploit: [bookinfo/reviews-v1]\n    depth: 3\n    targets: [bookinfo/ratings-v1]\n');
    const { run, issues } = await play({ dir, attack: file, hintsTaken: 0 });
    expect(run).toBeNull();
    expect(issues.errors.map((e) => e.code)).toEqual(['attack-states-facts']);
    expect(issues.errors[0]).toMatchObject({ loc: { line: 4, col: 5 } });
    expect(issues.errors[0]?.loc?.file).toContain('attack.yaml');
  });

  it('a replay after the token expired is unmet, naming the RequestAuthentication that refused it', async () => {
    const dir = path.join(EXERCISES, 'steal-and-replay');
    const late = 'steps:\n  - { id: take, action: steal-credentials, what: jwt, at: 2m }\n  - { id: nap, action: wait, for: 15m }\n  - { id: replay, action: request, to: "api.backend:80", path: /get, jwt: stolen }\n';
    const { report } = await mustPlay({ dir, attack: attack(late), hintsTaken: 0 });
    expect(report.objectives[0]?.why).toMatch(/Step "replay" tried backend\/api and was stopped by RequestAuthentication backend\/api-jwt: Jwt is expired/);
  });

  it('an error in the trainee\'s attack.yaml is located there (exit-2 input), and nothing is scored', async () => {
    const dir = path.join(EXERCISES, 'crown-jewel-path');
    const file = attack('steps:\n  - id: productpage-reads-ratings\n    action: request\n    to: ratings:9080\n');
    const { run, issues } = await play({ dir, attack: file, hintsTaken: 0 });
    expect(run).toBeNull();
    expect(issues.errors[0]).toMatchObject({ code: 'step-id-duplicate', loc: { line: 2 } });
    expect(issues.errors[0]?.loc?.file).toContain('attack.yaml');
  });

  it('the JSON report carries the contract fields', async () => {
    const dir = path.join(EXERCISES, 'crown-jewel-path');
    const { report } = await mustPlay({ dir, attack: path.join(dir, 'solution', 'attack.yaml'), hintsTaken: 0 });
    const json = JSON.parse(renderExerciseJson(report)) as Record<string, unknown>;
    expect(json).toMatchObject({ name: 'crown-jewel-path', score: 100, max: 100, passed: true, hintsTaken: 0 });
    expect(json['objectives']).toEqual([
      { id: 'second-workload', text: expect.any(String), kind: 'attack', met: true, points: 30, why: null },
      { id: 'crown-reached', text: expect.any(String), kind: 'attack', met: true, points: 70, why: null },
    ]);
  });
});
