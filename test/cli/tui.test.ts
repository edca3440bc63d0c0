/** `meshrange tui` outside a terminal, and its bad input, before any screen is drawn. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tuiCommand } from '../../src/cli/tui.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tty = { stdinTty: true, stdoutTty: true, env: {} };

async function tui(file: string, opts: { seed?: string }, term = tty): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await tuiCommand(file, { allowPath: [], ...opts }, { out: () => {}, err: (s) => { err += s; } }, term);
  return { code, err };
}

describe('meshrange tui', () => {
  it('with stdin and stdout piped, the real command exits 2 and says it needs a terminal', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'meshrange.js'), 'tui', 'scenarios/bookinfo-pivot-open.yaml'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('meshrange tui needs a terminal');
    expect(r.stdout).toBe('');
  });

  it('no scenario and no --exercise (or both) is a meshrange: line with a hint line, exit 2', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'meshrange.js'), 'tui'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').slice(0, 2)).toEqual([
      'meshrange: tui takes a scenario file or --exercise <folder> (one of them)',
      '  hint: e.g. meshrange tui scenarios/bookinfo-deny-all.yaml, or meshrange tui --exercise <the folder exercise start made>',
    ]);
  });

  it('output to a pipe is refused even when the input is a terminal', async () => {
    const r = await tui('scenarios/bookinfo-pivot-open.yaml', {}, { ...tty, stdoutTty: false });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs a terminal: its output is not one/);
  });

  it('TERM=dumb is refused before any screen: the TUI moves the cursor and clears the screen, which a dumb terminal cannot', async () => {
    const r = await tui('scenarios/bookinfo-pivot-open.yaml', {}, { ...tty, env: { TERM: 'dumb' } });
    expect(r.code).toBe(2);
    expect(r.err).toContain('TERM is dumb');
    const { exerciseTuiCommand } = await import('../../src/cli/exercise-tui.js');
    let err = '';
    const code = await exerciseTuiCommand('nowhere', { exercises: [], watch: false } as never, { out: () => {}, err: (x) => { err += x; } }, { ...tty, env: { TERM: 'dumb' } });
    expect(code).toBe(2);
    expect(err).toContain('TERM is dumb');
  });

  it('a missing scenario file exits 2 with its error, before any screen', async () => {
    const r = await tui('scenarios/no-such.yaml', {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no-such\.yaml/);
    expect(r.err).toContain('the scenario cannot run');
  });

  it('a seed that is not a whole number exits 2', async () => {
    const r = await tui('scenarios/bookinfo-pivot-open.yaml', { seed: '1e3' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('--seed 1e3: expected a whole number');
  });
});

describe('meshrange tui --watch and colours', () => {
  it('a change to a watched file calls back once, after the debounce', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { vi } = await import('vitest');
    const { watchInputs } = await import('../../src/cli/tui.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'meshrange-watch-'));
    const file = path.join(dir, 'scenario.yaml');
    writeFileSync(file, 'a: 1\n');
    const onChange = vi.fn();
    const stop = watchInputs([file], onChange);
    try {
      writeFileSync(file, 'a: 2\n');
      writeFileSync(file, 'a: 3\n');
      await vi.waitFor(() => expect(onChange).toHaveBeenCalled(), { timeout: 5000, interval: 20 });
      expect(onChange).toHaveBeenCalledOnce();
    } finally {
      stop();
    }
  });

  it('a tree is watched with its subfolders: a YAML saved in mesh/sub/deeper/ calls back', async () => {
    const { mkdirSync, mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { vi } = await import('vitest');
    const { watchInputs } = await import('../../src/cli/tui.js');
    const mesh = path.join(mkdtempSync(path.join(tmpdir(), 'meshrange-watch-')), 'mesh');
    mkdirSync(path.join(mesh, 'sub', 'deeper'), { recursive: true });
    const file = path.join(mesh, 'sub', 'deeper', 'policy.yaml');
    writeFileSync(file, 'a: 1\n');
    const onChange = vi.fn();
    const stop = watchInputs([], onChange, [mesh]);
    try {
      writeFileSync(file, 'a: 2\n');
      await vi.waitFor(() => expect(onChange).toHaveBeenCalled(), { timeout: 5000, interval: 20 });
    } finally {
      stop();
    }
  });

  it('a subfolder made in a watched tree calls back (the caller then watches the tree again, taking it in)', async () => {
    const { mkdirSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { vi } = await import('vitest');
    const { watchInputs } = await import('../../src/cli/tui.js');
    const mesh = mkdtempSync(path.join(tmpdir(), 'meshrange-watch-'));
    const onChange = vi.fn();
    const stop = watchInputs([], onChange, [mesh]);
    try {
      mkdirSync(path.join(mesh, 'new-folder'));
      await vi.waitFor(() => expect(onChange).toHaveBeenCalled(), { timeout: 5000, interval: 20 });
    } finally {
      stop();
    }
  });

  it('a tree folder deleted and made again (rm -rf mesh && cp -r backup mesh) calls back, also when watched while it was missing', async () => {
    const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { vi } = await import('vitest');
    const { watchInputs } = await import('../../src/cli/tui.js');
    const mesh = path.join(mkdtempSync(path.join(tmpdir(), 'meshrange-watch-')), 'mesh');
    mkdirSync(mesh);
    const gone = vi.fn();
    let stop = watchInputs([], gone, [mesh]);
    try {
      rmSync(mesh, { recursive: true });
      await vi.waitFor(() => expect(gone).toHaveBeenCalled(), { timeout: 5000, interval: 20 });
      stop();
      // the caller watches again while mesh/ is missing: its parent still sees it come back
      const back = vi.fn();
      stop = watchInputs([], back, [mesh]);
      mkdirSync(mesh);
      writeFileSync(path.join(mesh, 'policy.yaml'), 'a: 1\n');
      await vi.waitFor(() => expect(back).toHaveBeenCalled(), { timeout: 5000, interval: 20 });
    } finally {
      stop();
    }
  });

  it('coalesced: a trigger during a run is not dropped: one more run follows, and runs never overlap', async () => {
    const { coalesced } = await import('../../src/cli/tui.js');
    let active = 0;
    let maxActive = 0;
    const seen: number[] = [];
    let version = 1;
    let release: () => void = () => undefined;
    const trigger = coalesced(async () => {
      active++; maxActive = Math.max(maxActive, active);
      const v = version;
      await new Promise<void>((r) => { release = r; });
      seen.push(v);
      active--;
    });
    const first = trigger();
    version = 2; void trigger(); // saved during the first run
    version = 3; void trigger(); // and again: still one more run, reading the latest
    release();
    await new Promise((r) => setTimeout(r, 10));
    release();
    await first;
    expect(seen).toEqual([1, 3]);
    expect(maxActive).toBe(1);
  });

  it('a save in the last moments of a re-run (its debounce still pending when the run re-watches) is not lost: one more run reads it', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { vi } = await import('vitest');
    const { coalesced, watchInputs } = await import('../../src/cli/tui.js');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'meshrange-watch-')), 'scenario.yaml');
    writeFileSync(file, 'v: 1\n');
    const seen: string[] = [];
    let stop = (_flush?: boolean): void => {};
    const rerun = coalesced(async () => {
      const text = readFileSync(file, 'utf8');
      // the save lands 60 ms before this run ends, well inside the 250 ms debounce
      if (seen.length === 0) { await new Promise((r) => setTimeout(r, 240)); writeFileSync(file, 'v: 2\n'); await new Promise((r) => setTimeout(r, 60)); }
      seen.push(text.trim());
      stop();
      stop = watchInputs([file], () => { void rerun(); });
    });
    stop = watchInputs([file], () => { void rerun(); });
    try {
      await rerun();
      await vi.waitFor(() => expect(seen).toEqual(['v: 1', 'v: 2']), { timeout: 5000, interval: 20 });
    } finally {
      stop(false);
    }
  });

  it('coalesced: a run that throws does not drop a change that came meanwhile; the failure is thrown after the runs', async () => {
    const { coalesced } = await import('../../src/cli/tui.js');
    const runs: number[] = [];
    let release: () => void = () => undefined;
    const trigger = coalesced(async () => {
      runs.push(runs.length + 1);
      if (runs.length === 1) { await new Promise<void>((r) => { release = r; }); throw new Error('bad YAML mid-edit'); }
    });
    const first = trigger();
    void trigger();
    release();
    await expect(first).rejects.toThrow('bad YAML mid-edit');
    expect(runs).toEqual([1, 2]);
  });

  it('a watched tree is bounded in folders (150 subfolders give the first MAX_WATCH_FOLDERS and say the rest were left out), and a link loops nowhere and leads out of it never', async () => {
    const { mkdirSync, mkdtempSync, symlinkSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { MAX_WATCH_FOLDERS, watchedFolders } = await import('../../src/cli/tui.js');
    const small = mkdtempSync(path.join(tmpdir(), 'meshrange-watch-'));
    mkdirSync(path.join(small, 'a', 'b'), { recursive: true });
    symlinkSync('..', path.join(small, 'a', 'loop'));
    symlinkSync(tmpdir(), path.join(small, 'a', 'out'));
    expect(watchedFolders(small)).toEqual({ folders: [small, path.join(small, 'a'), path.join(small, 'a', 'b')], truncated: false });
    const big = mkdtempSync(path.join(tmpdir(), 'meshrange-watch-'));
    for (let i = 0; i < 150; i++) mkdirSync(path.join(big, `d${String(i).padStart(3, '0')}`));
    const w = watchedFolders(big);
    expect(w.folders).toHaveLength(MAX_WATCH_FOLDERS);
    expect(w.truncated).toBe(true);
  });

  it('NO_COLOR set to anything but the empty string turns colours off', async () => {
    const { colourWanted } = await import('../../src/cli/tui.js');
    expect(colourWanted({})).toBe(true);
    expect(colourWanted({ NO_COLOR: '' })).toBe(true);
    expect(colourWanted({ NO_COLOR: '1' })).toBe(false);
  });
});
