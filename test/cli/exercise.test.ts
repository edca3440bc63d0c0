/** `meshrange exercise list | start | check | hint`: exit codes, files written, hints recorded. */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from './harness.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'meshrange-excli-'));

describe('exercise list', () => {
  it('lists the package\'s exercises with name, level, role and title', async () => {
    const r = await cli('exercise', 'list');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^name\s+level\s+role\s+title$/);
    expect(r.out).toMatch(/first-strict\s+beginner\s+defender\s+Lock the backend namespace to mutual TLS/);
    expect(r.out).toMatch(/steal-and-replay\s+intermediate\s+attacker/);
  });

  it('refuses an --exercises folder holding a malformed exercise (exit 2, located), never skipping it', async () => {
    const d = tmp();
    mkdirSync(path.join(d, 'bad'));
    writeFileSync(path.join(d, 'bad', 'exercise.yaml'), 'apiVersion: meshrange.io/v1alpha1\nkind: Exercise\nmetadata: { name: bad }\nspec: { title: t, colour: red }\n');
    const r = await cli('exercise', 'list', '--exercises', d);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\/exercise\.yaml:4:\d+: error \[exercise-unknown-field\] unknown field "colour"/);
  });
});

describe('exercise start', () => {
  it('copies exercise.yaml, scenario.yaml and mesh/ (never solution/ nor README.md) and starts the progress at 0 hints', async () => {
    const dir = path.join(tmp(), 'work');
    const r = await cli('exercise', 'start', 'first-strict', dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Lock the backend namespace');
    expect(readdirSync(dir).sort()).toEqual(['.meshrange-exercise.json', 'exercise.yaml', 'mesh', 'scenario.yaml']);
    expect(JSON.parse(readFileSync(path.join(dir, '.meshrange-exercise.json'), 'utf8'))).toEqual({ name: 'first-strict', hintsTaken: 0 });
  });

  it('gives an attacker exercise its attack.yaml', async () => {
    const dir = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'crown-jewel-path', dir)).code).toBe(0);
    expect(readFileSync(path.join(dir, 'attack.yaml'), 'utf8')).toMatch(/^steps: \[\]/m);
    expect(existsSync(path.join(dir, 'solution'))).toBe(false);
  });

  it('copies every file and folder of the exercise but solution/ and README.md: jwt-mandatory\'s keys/, which its scenario reads, so `run scenario.yaml` in the working folder finds them', async () => {
    const dir = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'jwt-mandatory', dir)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['.meshrange-exercise.json', 'exercise.yaml', 'keys', 'mesh', 'scenario.yaml']);
    expect(readFileSync(path.join(dir, 'keys', 'shop-jwks.json'), 'utf8')).toBe(readFileSync(path.resolve('exercises/jwt-mandatory/keys/shop-jwks.json'), 'utf8'));
    const run = await cli('run', path.join(dir, 'scenario.yaml'), '--format', 'json');
    expect(run.err).not.toContain('error');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ verdict: expect.stringMatching(/^(breached|contained)$/) });
  });

  it('follows a link that stays inside the exercise folder (copied as a file) and refuses one out of it or into solution/ (exit 2, nothing written)', async () => {
    const pack = tmp();
    const ex = path.join(pack, 'first-strict');
    cpSync(path.resolve('exercises/first-strict'), ex, { recursive: true });
    mkdirSync(path.join(ex, 'notes'));
    symlinkSync(path.join('..', 'scenario.yaml'), path.join(ex, 'notes', 'same-scenario.yaml'));
    const ok = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'first-strict', ok, '--exercises', pack)).code).toBe(0);
    expect(readFileSync(path.join(ok, 'notes', 'same-scenario.yaml'), 'utf8')).toBe(readFileSync(path.join(ex, 'scenario.yaml'), 'utf8'));
    expect(existsSync(path.join(ok, 'solution'))).toBe(false);
    for (const [name, target, why] of [['leak', os.tmpdir(), 'outside the exercise folder'], ['peek', path.join(ex, 'solution'), 'which the working folder does not get']] as const) {
      symlinkSync(target, path.join(ex, 'notes', name));
      const into = path.join(tmp(), 'work');
      const r = await cli('exercise', 'start', 'first-strict', into, '--exercises', pack);
      expect(r.code).toBe(2);
      expect(r.err).toContain('[exercise-copy]');
      expect(r.err).toContain(why);
      expect(existsSync(into)).toBe(false);
      expect(readdirSync(path.dirname(into))).toEqual([]);
      rmSync(path.join(ex, 'notes', name));
    }
  });

  it('refuses a folder link that loops back (exit 2), never copying forever', async () => {
    const pack = tmp();
    const ex = path.join(pack, 'first-strict');
    cpSync(path.resolve('exercises/first-strict'), ex, { recursive: true });
    symlinkSync('..', path.join(ex, 'mesh', 'again'));
    const into = path.join(tmp(), 'work');
    const r = await cli('exercise', 'start', 'first-strict', into, '--exercises', pack);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[exercise-copy\].*(loop|outside)/);
    expect(existsSync(into)).toBe(false);
  });

  it('refuses to overwrite a folder that is not empty (exit 2, nothing written)', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const r = await cli('exercise', 'start', 'first-strict', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('already exists and is not an empty folder');
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('refuses an unknown exercise name with the list of known ones (exit 2)', async () => {
    const r = await cli('exercise', 'start', 'no-such', path.join(tmp(), 'x'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no exercise is named "no-such".*first-strict/s);
  });
});

describe('exercise check and hint', () => {
  it('exits 1 at the start, 0 once the solution is in place; --format json is the report', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    const before = await cli('exercise', 'check', dir);
    expect(before.code).toBe(1);
    expect(before.out).toMatch(/score 50\/100; pass at 75: not yet/);
    rmSync(path.join(dir, 'mesh'), { recursive: true });
    cpSync(path.resolve('exercises/first-strict/solution'), path.join(dir, 'mesh'), { recursive: true });
    const after = await cli('exercise', 'check', dir, '--format', 'json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ name: 'first-strict', score: 100, max: 100, passed: true, hintsTaken: 0 });
  });

  it('judges the SHIPPED objectives: editing the copy of exercise.yaml wins nothing', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, 'exercise.yaml'), readFileSync(path.join(dir, 'exercise.yaml'), 'utf8').replace(/outcome: blocked/g, 'outcome: allowed'));
    expect((await cli('exercise', 'check', dir)).code).toBe(1);
  });

  it('a broken manifest in mesh/ is bad input (exit 2, file:line:col), not a score', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, 'mesh', 'broken.yaml'), 'kind: [unclosed\n');
    const r = await cli('exercise', 'check', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.yaml:\d+:\d+: error/);
    expect(r.out).toBe('');
  });

  it('a link in mesh/ to a file outside the working folder is refused (exit 2, path-outside), not read', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    const outside = path.join(tmp(), 'secret.yaml');
    writeFileSync(outside, 'apiVersion: v1\nkind: Namespace\nmetadata: { name: secret }\n');
    symlinkSync(outside, path.join(dir, 'mesh', 'zz-link.yaml'));
    const r = await cli('exercise', 'check', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('outside the allowed folders');
  });

  it('a hand-edited progress file naming another exercise\'s nonsense is bad input (exit 2)', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, '.meshrange-exercise.json'), '{"name": "__proto__", "hintsTaken": 0}');
    const r = await cli('exercise', 'check', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('exercise-progress');
  });

  it('a manifest kind meshrange does not model is a warning on stderr, and the check still scores', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, 'mesh', 'extra.yaml'), 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: { name: g, namespace: backend }\n');
    const r = await cli('exercise', 'check', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/extra\.yaml:1:1: warning .*Gadget/);
    expect(r.out).toContain('score 50/100');
  });

  it('a folder that was not started is bad input (exit 2)', async () => {
    const r = await cli('exercise', 'check', tmp());
    expect(r.code).toBe(2);
    expect(r.err).toContain('has no .meshrange-exercise.json');
  });

  it('hint prints the next hint, records it, and its cost comes off the score; then says there are no more', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    const h1 = await cli('exercise', 'hint', dir);
    expect(h1.code).toBe(0);
    expect(h1.out).toMatch(/^Hint 1 of 3 \(costs 5 points\): Which PeerAuthentication mode/);
    expect(JSON.parse(readFileSync(path.join(dir, '.meshrange-exercise.json'), 'utf8'))).toEqual({ name: 'first-strict', hintsTaken: 1 });
    const check = JSON.parse((await cli('exercise', 'check', dir, '--format', 'json')).out) as { score: number; hintsTaken: number };
    expect(check).toMatchObject({ score: 45, hintsTaken: 1 });
    await cli('exercise', 'hint', dir);
    await cli('exercise', 'hint', dir);
    const none = await cli('exercise', 'hint', dir);
    expect(none.code).toBe(0);
    expect(none.out).toBe('No more hints: all 3 taken.\n');
    expect(JSON.parse(readFileSync(path.join(dir, '.meshrange-exercise.json'), 'utf8'))).toEqual({ name: 'first-strict', hintsTaken: 3 });
  });
});

describe('tui --exercise', () => {
  it('takes a scenario or --exercise, not both and not neither (exit 2)', async () => {
    expect((await cli('tui')).code).toBe(2);
    const both = await cli('tui', 'scenarios/bookinfo-deny-all.yaml', '--exercise', 'x');
    expect(both.code).toBe(2);
    expect(both.err).toContain('one of them');
  });

  it('without a terminal it exits 2 and points at exercise check', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    const r = await cli('tui', '--exercise', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('meshrange exercise check <folder>');
  });
});
