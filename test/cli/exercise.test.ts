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

  it('an --exercises folder holding a malformed exercise: list warns of it, located, and lists the rest (exit 0); start of its name gives the errors (exit 2)', async () => {
    const d = tmp();
    mkdirSync(path.join(d, 'bad'));
    writeFileSync(path.join(d, 'bad', 'exercise.yaml'), 'apiVersion: meshrange.io/v1alpha1\nkind: Exercise\nmetadata: { name: bad }\nspec: { title: t, colour: red }\n');
    const r = await cli('exercise', 'list', '--exercises', d);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^first-strict\s/m);
    expect(r.out).not.toMatch(/^bad\s/m);
    expect(r.err).toMatch(/bad\/exercise\.yaml:4:\d+: warning \[exercise-invalid\] not listed: .*more problems: `meshrange exercise start bad` prints them all/);
    const start = await cli('exercise', 'start', 'bad', path.join(tmp(), 'work'), '--exercises', d);
    expect(start.code).toBe(2);
    expect(start.err).toMatch(/bad\/exercise\.yaml:4:\d+: error \[exercise-unknown-field\] unknown field "colour"/);
    expect(start.err).not.toContain('no exercise is named');
  });

  it('nothing is skipped silently: list warns once per entry it leaves out (a folder link, a folder without exercise.yaml, a name that is not its folder\'s), saying what to do', async () => {
    const d = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(d, 'mine'), { recursive: true });
    mkdirSync(path.join(d, 'empty'));
    symlinkSync(path.resolve('exercises/first-strict'), path.join(d, 'linked'));
    writeFileSync(path.join(d, 'notes.md'), 'a plain file is documentation, not an exercise\n');
    mkdirSync(path.join(d, '.git'));
    const r = await cli('exercise', 'list', '--exercises', d);
    expect(r.code).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.includes('warning ['));
    expect(warnings).toHaveLength(3);
    expect(r.err).toMatch(/warning \[exercise-missing-file\] not listed: .*empty has no exercise\.yaml file.*\n {4}fix: add .*empty\/exercise\.yaml/);
    expect(r.err).toMatch(/warning \[exercise-link\] not listed: .*linked is a symbolic link.*\n {4}fix: replace the link by the exercise folder itself/);
    expect(r.err).toMatch(/mine\/exercise\.yaml:\d+:\d+: warning \[exercise-name\] not listed: metadata\.name "first-strict" is not the name of its folder "mine"/);
    expect(r.out).toMatch(/^first-strict\s/m);
  });

  it('start (and check) of a skipped entry\'s name gives the reason it was skipped (exit 2), never "no exercise is named"', async () => {
    const d = tmp();
    mkdirSync(path.join(d, 'empty'));
    symlinkSync(path.resolve('exercises/first-strict'), path.join(d, 'linked'));
    for (const [name, code] of [['empty', 'exercise-missing-file'], ['linked', 'exercise-link']] as const) {
      const into = path.join(tmp(), 'work');
      const r = await cli('exercise', 'start', name, into, '--exercises', d);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`error [${code}]`);
      expect(r.err).not.toContain('no exercise is named');
      expect(existsSync(into)).toBe(false);
    }
    // a working folder of an exercise that has since been broken in its catalogue
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    const work = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'first-strict', work, '--exercises', pack)).code).toBe(0);
    rmSync(path.join(pack, 'first-strict', 'exercise.yaml'));
    const check = await cli('exercise', 'check', work, '--exercises', pack);
    expect(check.code).toBe(2);
    expect(check.err).toContain('error [exercise-missing-file]');
  });

  it('a pack\'s scenario reads its own folder and the working folder, not the directory meshrange runs from (a pack from a stranger, run from $HOME, could read ~/*.yaml)', async () => {
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    const scenario = path.join(pack, 'first-strict', 'scenario.yaml');
    // a file under the working directory of the test run (the repository), outside the pack and the working folder
    const outside = path.resolve('scenarios/meshes/bookinfo/services.yaml');
    writeFileSync(scenario, readFileSync(scenario, 'utf8').replace('manifests: [./mesh]', `manifests: [./mesh, ${JSON.stringify(outside)}]`));
    const work = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'first-strict', work, '--exercises', pack)).code).toBe(0);
    const check = await cli('exercise', 'check', work, '--exercises', pack);
    expect(check.code).toBe(2);
    expect(check.err).toContain('error [path-outside]');
    // in a pack's words, not a scenario's ("move the file under the working directory" would not help)
    expect(check.err).toContain('fix: an exercise reads only its own folder and your working folder');
    expect(check.err).not.toContain('under the working directory');
    // --allow-path still lets a trusted pack read it
    expect((await cli('exercise', 'check', work, '--exercises', pack, '--allow-path', path.dirname(outside))).err).not.toContain('path-outside');
  });

  it('an objective naming a step or a flow the pack\'s scenario lacks is an authoring error at list, start and check (exit 2, located in exercise.yaml), not an objective that can never be met', async () => {
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    const ex = path.join(pack, 'first-strict', 'exercise.yaml');
    const text = readFileSync(ex, 'utf8');
    const step = /step: (\S+)/.exec(text)?.[1] as string;
    const work = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'first-strict', work, '--exercises', pack)).code).toBe(0);
    writeFileSync(ex, text.replace(`step: ${step}`, 'step: no-such-step'));
    // list: left out (the shipped first-strict is overridden by the broken one, so not offered at all), with the reason
    const list = await cli('exercise', 'list', '--exercises', pack);
    expect(list.code).toBe(0);
    expect(list.out).not.toMatch(/^first-strict\s/m);
    expect(list.err).toMatch(/exercise\.yaml:\d+:\d+: warning \[exercise-objective-unknown\] not listed: objective "[^"]+" judges step "no-such-step"/);
    // start: refused, nothing written
    const again = path.join(tmp(), 'again');
    const start = await cli('exercise', 'start', 'first-strict', again, '--exercises', pack);
    expect(start.code).toBe(2);
    expect(start.err).toContain('error [exercise-objective-unknown]');
    expect(existsSync(again)).toBe(false);
    // check of a folder started before the pack changed
    const check = await cli('exercise', 'check', work, '--exercises', pack);
    expect(check.code).toBe(2);
    expect(check.err).toMatch(/exercise\.yaml:\d+:\d+: error \[exercise-objective-unknown\] objective "[^"]+" judges step "no-such-step"/);
    expect(check.err).toContain(step);
  });

  it('a defender who deletes or repoints jwt-mandatory\'s RequestAuthentication is scored (exit 1): the tokens are still signed with the pack\'s keys', async () => {
    const work = path.join(tmp(), 'work');
    expect((await cli('exercise', 'start', 'jwt-mandatory', work)).code).toBe(0);
    const ra = readdirSync(path.join(work, 'mesh')).filter((f) => readFileSync(path.join(work, 'mesh', f), 'utf8').includes('kind: RequestAuthentication'));
    expect(ra.length).toBeGreaterThan(0);
    // repointed at a JWKS nobody serves: the valid token is refused (the JWKS fails closed)
    for (const f of ra) writeFileSync(path.join(work, 'mesh', f), readFileSync(path.join(work, 'mesh', f), 'utf8').replace(/jwksUri: \S+/, 'jwksUri: https://auth.shop.example/nowhere'));
    const repointed = await cli('exercise', 'check', work, '--format', 'json');
    expect(repointed.err).toBe('');
    expect(repointed.code).toBe(1);
    const byId = (out: string): Map<string, boolean> => new Map((JSON.parse(out) as { objectives: { id: string; met: boolean }[] }).objectives.map((o) => [o.id, o.met]));
    expect(byId(repointed.out).get('signed-in-user-served')).toBe(false);
    // deleted: the token is no longer read, nothing asks for one
    for (const f of ra) rmSync(path.join(work, 'mesh', f));
    const deleted = await cli('exercise', 'check', work, '--format', 'json');
    expect(deleted.err).toBe('');
    expect(deleted.code).toBe(1);
    expect(byId(deleted.out).get('no-token-no-read')).toBe(false);
  });

  it('a pack whose scenario file does not exist is left out of list and refused at start, located at spec.scenario', async () => {
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    rmSync(path.join(pack, 'first-strict', 'scenario.yaml'));
    const list = await cli('exercise', 'list', '--exercises', pack);
    expect(list.out).not.toMatch(/^first-strict\s/m);
    // the path as exercise.yaml writes it (spec.scenario), located there
    expect(list.err).toMatch(/first-strict\/exercise\.yaml:\d+:\d+: warning \[path-missing\] not listed: scenario\.yaml does not exist/);
    const start = await cli('exercise', 'start', 'first-strict', path.join(tmp(), 'w'), '--exercises', pack);
    expect(start.code).toBe(2);
    expect(start.err).toContain('error [path-missing]');
    expect(start.err).not.toContain('solution/');
  });

  it('a pack whose scenario is over 1 MiB is left out of list before it is parsed, located at spec.scenario', async () => {
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    const scenario = path.join(pack, 'first-strict', 'scenario.yaml');
    writeFileSync(scenario, `${readFileSync(scenario, 'utf8')}\n${'# padding\n'.repeat(110_000)}`);
    const list = await cli('exercise', 'list', '--exercises', pack);
    expect(list.out).not.toMatch(/^first-strict\s/m);
    expect(list.err).toMatch(/first-strict\/exercise\.yaml:\d+:\d+: warning \[exercise-scenario-too-large\] not listed: .*scenario\.yaml holds 1,\d{3},\d{3} characters; an exercise's scenario holds at most 1,048,576/);
  });

  it('a pack whose scenario is a link out of the catalogue: path-outside, with a fix in an exercise\'s words (list has no --allow-path)', async () => {
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    const elsewhere = path.join(tmp(), 'scenario.yaml');
    writeFileSync(elsewhere, readFileSync(path.join(pack, 'first-strict', 'scenario.yaml')));
    rmSync(path.join(pack, 'first-strict', 'scenario.yaml'));
    symlinkSync(elsewhere, path.join(pack, 'first-strict', 'scenario.yaml'));
    const list = await cli('exercise', 'list', '--exercises', pack);
    expect(list.err).toContain('warning [path-outside] not listed:');
    expect(list.err).toContain('fix: an exercise reads its own files from its folder');
    expect(list.err).not.toContain('--allow-path');
  });

  it('a flow objective naming a flow the scenario lacks is left out of list, with the flows it has as the fix', async () => {
    const pack = tmp();
    cpSync(path.resolve('exercises/first-strict'), path.join(pack, 'first-strict'), { recursive: true });
    const ex = path.join(pack, 'first-strict', 'exercise.yaml');
    const text = readFileSync(ex, 'utf8');
    const from = /traffic:\s*\{?\s*from: (\S+?),?\s/.exec(text)?.[1];
    expect(from, 'first-strict has a traffic objective').toBeDefined();
    writeFileSync(ex, text.replace(`from: ${from as string}`, 'from: nowhere/nobody'));
    const list = await cli('exercise', 'list', '--exercises', pack);
    expect(list.err).toMatch(/warning \[exercise-objective-unknown\] not listed: objective "[^"]+" judges the flow nowhere\/nobody → /);
  });

  it('an --exercises folder\'s entry overrides the shipped exercise of its name even when broken: its reason is given, the shipped one is not used', async () => {
    const d = tmp();
    mkdirSync(path.join(d, 'first-strict'));
    const r = await cli('exercise', 'start', 'first-strict', path.join(tmp(), 'work'), '--exercises', d);
    expect(r.code).toBe(2);
    expect(r.err).toContain('error [exercise-missing-file]');
  });
});

describe('repeatable options of exercise', () => {
  it('--exercises is repeatable: every folder given is searched, in order, and a name in two of them is ambiguous (exit 2 for it, a warning in list)', async () => {
    const a = tmp();
    const b = tmp();
    for (const [d, name] of [[a, 'one'], [b, 'two'], [b, 'one']] as const) {
      cpSync(path.resolve('exercises/first-strict'), path.join(d, name), { recursive: true });
      writeFileSync(path.join(d, name, 'exercise.yaml'), readFileSync(path.join(d, name, 'exercise.yaml'), 'utf8').replace('name: first-strict', `name: ${name}`));
    }
    const r = await cli('exercise', 'list', '--exercises', a, '--exercises', b);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^two\s/m);
    expect(r.out).not.toMatch(/^one\s/m);
    expect(r.err).toMatch(/warning \[exercise-duplicate\] not listed: exercise "one" is in both/);
    expect((await cli('exercise', 'start', 'two', path.join(tmp(), 'w'), '--exercises', a, '--exercises', b)).code).toBe(0);
    const one = await cli('exercise', 'start', 'one', path.join(tmp(), 'w'), '--exercises', a, '--exercises', b);
    expect(one.code).toBe(2);
    expect(one.err).toContain('[exercise-duplicate]');
  });

  it('check --allow-path is repeatable: each folder given widens what the manifests may read', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    const outside1 = tmp();
    const outside2 = tmp();
    writeFileSync(path.join(outside1, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: extra-a }\n');
    writeFileSync(path.join(outside2, 'b.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: extra-b }\n');
    symlinkSync(path.join(outside1, 'a.yaml'), path.join(dir, 'mesh', 'zz-a.yaml'));
    symlinkSync(path.join(outside2, 'b.yaml'), path.join(dir, 'mesh', 'zz-b.yaml'));
    const one = await cli('exercise', 'check', dir, '--allow-path', outside1);
    expect(one.code).toBe(2);
    expect(one.err).toContain('outside the allowed folders');
    expect(one.err).toContain('zz-b.yaml');
    const both = await cli('exercise', 'check', dir, '--allow-path', outside1, '--allow-path', outside2);
    expect(both.err).not.toContain('outside the allowed folders');
    expect(both.code).toBe(1);
  });
});

describe('exercise names given by the user', () => {
  it('a name is never a path: ../x, an absolute path, a/b, ., .. and an empty name are refused (exit 2) and nothing is written', async () => {
    const cwd = tmp();
    for (const name of ['../first-strict', path.resolve('exercises/first-strict'), 'exercises/first-strict', '.', '..', '', 'First-Strict']) {
      const into = path.join(cwd, 'work');
      const r = await cli('exercise', 'start', name, into);
      expect(r.code, name).toBe(2);
      expect(r.err).toContain('error [exercise-bad-name]');
      expect(r.err).toContain('never paths');
      expect(existsSync(into)).toBe(false);
    }
  });

  it('a name that is a key of every JavaScript object (constructor, __proto__, hasownproperty) selects no exercise', async () => {
    for (const name of ['constructor', 'hasownproperty', '__proto__', 'tostring']) {
      const r = await cli('exercise', 'start', name, path.join(tmp(), 'work'));
      expect(r.code, name).toBe(2);
      expect(r.err).toMatch(/\[exercise-(unknown|bad-name)\]/);
    }
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

  it('counts folders in its copy limit with the files: an exercise of 2,001 empty folders is refused (exit 2, nothing written), and the message says folders count', async () => {
    const pack = tmp();
    const ex = path.join(pack, 'first-strict');
    cpSync(path.resolve('exercises/first-strict'), ex, { recursive: true });
    const empty = path.join(ex, 'empty');
    mkdirSync(empty);
    for (let i = 0; i < 2001; i++) mkdirSync(path.join(empty, `d${i}`));
    const into = path.join(tmp(), 'work');
    const r = await cli('exercise', 'start', 'first-strict', into, '--exercises', pack);
    expect(r.code).toBe(2);
    expect(r.err).toContain('error [exercise-too-large] the exercise holds more than 2000 files and folders (counted together)');
    expect(existsSync(into)).toBe(false);
    expect(readdirSync(path.dirname(into))).toEqual([]);
    // nested rather than wide: folders of folders count the same
    rmSync(empty, { recursive: true });
    for (let i = 0; i < 70; i++) for (let j = 0; j < 30; j++) mkdirSync(path.join(ex, 'nest', `a${i}`, `b${j}`), { recursive: true });
    const r2 = await cli('exercise', 'start', 'first-strict', into, '--exercises', pack);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('[exercise-too-large]');
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

  it('hints taken after passing cost nothing: a passed exercise stays passed (exit 0), and the hint says it is free', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    await cli('exercise', 'hint', dir);
    rmSync(path.join(dir, 'mesh'), { recursive: true });
    cpSync(path.resolve('exercises/first-strict/solution'), path.join(dir, 'mesh'), { recursive: true });
    const passed = await cli('exercise', 'check', dir, '--format', 'json');
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.out)).toMatchObject({ score: 95, passed: true, hintsTaken: 1, hintCost: 5 });
    const h2 = await cli('exercise', 'hint', dir);
    expect(h2.out).toMatch(/^Hint 2 of 3 \(free: the exercise is passed\): /);
    await cli('exercise', 'hint', dir);
    expect(JSON.parse(readFileSync(path.join(dir, '.meshrange-exercise.json'), 'utf8'))).toEqual({ name: 'first-strict', hintsTaken: 3, hintsCharged: 1 });
    const after = await cli('exercise', 'check', dir, '--format', 'json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ score: 95, passed: true, hintsTaken: 3, hintCost: 5 });
  });

  it('a progress file edited to more hints than the exercise has is counted as all of them, with a warning located at hintsTaken', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, '.meshrange-exercise.json'), '{\n  "name": "first-strict",\n  "hintsTaken": 16\n}\n');
    const r = await cli('exercise', 'check', dir, '--format', 'json');
    expect(r.err).toContain('.meshrange-exercise.json:3:17: warning [exercise-hints-taken] hintsTaken is 16, but first-strict has 3 hints: counted as 3');
    expect(JSON.parse(r.out)).toMatchObject({ hintsTaken: 3 });
  });
});

describe('what tui --exercise --watch watches', () => {
  it('a defender\'s mesh/ is a watched tree (its subfolders too), and the check reads the manifests in its subfolders', async () => {
    const { checkFolder } = await import('../../src/cli/exercise.js');
    const { IssueList } = await import('../../src/core/issues.js');
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    const issues = new IssueList();
    const before = await checkFolder(dir, { exercises: [] }, issues);
    expect(before?.trees).toEqual([path.resolve(dir, 'mesh')]);
    // the solution, moved into a subfolder of mesh/: the check reads it there
    rmSync(path.join(dir, 'mesh'), { recursive: true });
    mkdirSync(path.join(dir, 'mesh'));
    cpSync(path.resolve('exercises/first-strict/solution'), path.join(dir, 'mesh', 'fixed'), { recursive: true });
    const after = await checkFolder(dir, { exercises: [] }, new IssueList());
    expect(after?.report.passed).toBe(true);
  });
});

describe('exercise errors are printed as every command prints them', () => {
  /** Each stderr line: `[file:line:col: ]error|warning [code] message`, an indented `fix:` line, or the closing `meshrange:` line. */
  function expectPrinterStyle(err: string): void {
    const lines = err.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^((\S+:\d+:\d+: )?(error|warning) \[[a-z0-9-]+\] \S|    fix: \S|meshrange: \S)/);
    expect(lines.some((l) => l.startsWith('    fix: '))).toBe(true);
  }

  it('start, check and hint failures: `[code]` lines with a `fix:` line each (the printer of run), exit 2', async () => {
    const notEmpty = tmp();
    writeFileSync(path.join(notEmpty, 'notes.txt'), 'mine');
    const bad = tmp();
    mkdirSync(path.join(bad, 'empty'));
    const runs = [
      await cli('exercise', 'start', 'first-strict', notEmpty),
      await cli('exercise', 'start', 'no-such', path.join(tmp(), 'x')),
      await cli('exercise', 'start', '../x', path.join(tmp(), 'x')),
      await cli('exercise', 'start', 'empty', path.join(tmp(), 'x'), '--exercises', bad),
      await cli('exercise', 'check', tmp()),
      await cli('exercise', 'hint', tmp()),
      await cli('exercise', 'list', '--exercises', path.join(tmp(), 'missing')),
    ];
    for (const r of runs) {
      expect(r.code).toBe(2);
      expectPrinterStyle(r.err);
    }
    expect(runs[0]?.err).toContain('error [exercise-folder-exists]');
    expect(runs[0]?.err).toContain('meshrange: nothing was written');
    expect(runs[5]?.err).toContain('meshrange: no hint was taken');
  });

  it('a progress file that is not JSON is located at the line and column where it stops being JSON', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, '.meshrange-exercise.json'), '{\n  "name": "first-strict",\n  oops\n}\n');
    const r = await cli('exercise', 'check', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\.meshrange-exercise\.json:3:3: error \[exercise-progress\] .* is not JSON/);
    expectPrinterStyle(r.err);
  });

  it('a progress file naming no exercise is located at its name (the file at fault), for check and for hint', async () => {
    const dir = path.join(tmp(), 'work');
    await cli('exercise', 'start', 'first-strict', dir);
    writeFileSync(path.join(dir, '.meshrange-exercise.json'), '{\n  "hintsTaken": 0,\n  "name": "gone-away"\n}\n');
    for (const sub of ['check', 'hint']) {
      const r = await cli('exercise', sub, dir);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/\.meshrange-exercise\.json:3:11: error \[exercise-unknown\] no exercise is named "gone-away"/);
      expectPrinterStyle(r.err);
    }
    // a field of the wrong type: located at that field
    writeFileSync(path.join(dir, '.meshrange-exercise.json'), '{\n  "name": "first-strict",\n  "hintsTaken": "two"\n}\n');
    const r = await cli('exercise', 'check', dir);
    expect(r.err).toMatch(/\.meshrange-exercise\.json:3:17: error \[exercise-progress\]/);
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
