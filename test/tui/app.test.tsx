/**
 * The TUI on screen (ink-testing-library) at a fixed 80×24: keys go in, the
 * frames are read. Every wait is for content to appear (vi.waitFor), never a sleep.
 */
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App, type TuiRun, type TuiUpdate } from '../../src/tui/app.js';
import { shippedRun } from './run.js';

const DOWN = '\u001b[B';
const RIGHT = '\u001b[C';
let screens: { unmount: () => void }[] = [];
afterEach(() => { for (const s of screens) s.unmount(); screens = []; });

function open(run: TuiRun, extra: { onQuit?: () => void; color?: boolean } = {}) {
  const screen = render(<App run={run} color={extra.color ?? false} columns={80} rows={24} tickMs={10} {...(extra.onQuit ? { onQuit: extra.onQuit } : {})} />);
  screens.push(screen);
  const frame = (): string => screen.lastFrame() ?? '';
  /** Waits until the frame passes `test`. */
  const until = async (test: (f: string) => boolean): Promise<string> => {
    await vi.waitFor(() => { if (!test(frame())) throw new Error(`frame never matched:\n${frame()}`); }, { timeout: 5000, interval: 5 });
    return frame();
  };
  // The key hints show once the app listens to the keyboard: every test waits for them before a key.
  const ready = (): Promise<string> => until((x) => x.includes('? help, q quit'));
  return { screen, frame, until, ready, press: (k: string) => screen.stdin.write(k) };
}

describe('meshrange tui on screen', () => {
  it('shows the scenario, seed, verdict and expectations in the header and every step in the list', async () => {
    const run = await shippedRun('payments-strict-principal');
    const { until } = open(run);
    const f = await until((x) => x.includes('payments-strict-principal'));
    expect(f).toContain(`seed ${run.result.seed}`);
    expect(f).toContain(run.result.verdict.toUpperCase());
    expect(f).toContain('expectations 4/4 met');
    for (const s of run.result.steps) expect(f).toContain(s.id);
  });

  it('the stopping control\'s name appears when its step is selected, and not before', async () => {
    const { until, ready, press } = open(await shippedRun('payments-strict-principal'));
    const first = await ready();
    expect(first).toContain('api-charges');
    expect(first).not.toContain('PeerAuthentication payments/default');
    press('j');
    const authz = await until((x) => x.includes('stopped by AuthorizationPolicy') && x.includes('payments/payments-allow-shop-api'));
    expect(authz).toContain('★ sole AuthorizationPolicy');
    press(DOWN);
    const f = await until((x) => x.includes('stopped by PeerAuthentication payments/default'));
    expect(f).not.toContain('★ sole');
  });

  it('playback moves the simulated clock: space plays to the end, → steps to the next step\'s start', async () => {
    const run = await shippedRun('flood-rate-limited');
    const played = open(run);
    expect(await played.ready()).toContain('t=2.000s of 5.000s');
    played.press(' ');
    const end = await played.until((x) => x.includes('t=5.000s of 5.000s'));
    expect(end).toContain('flood: ');
    const stepped = open(run);
    expect(await stepped.ready()).toContain('t=2.000s of 5.000s');
    stepped.press(RIGHT);
    await stepped.until((x) => x.includes('t=5.000s of 5.000s') && x.includes('stopped by RateLimit'));
  });

  it('the / filter narrows the step list to the steps that match', async () => {
    const { until, ready, press } = open(await shippedRun('payments-strict-principal'));
    expect(await ready()).toContain('steps 4/4');
    press('/');
    await until((x) => x.includes('/▏'));
    press('refunds');
    press('\r');
    const f = await until((x) => x.includes('steps 1/4'));
    expect(f).toContain('api-refunds');
    expect(f).not.toContain('web-charges');
    expect(f).not.toContain('api-charges');
  });

  it('tab switches to the mesh pane: workloads by namespace with sidecar and mTLS badges', async () => {
    const { until, ready, press } = open(await shippedRun('payments-strict-principal'));
    await ready();
    press('\t');
    await until((x) => x.includes('[trace]'));
    press('\t');
    const f = await until((x) => x.includes('[mesh]'));
    expect(f).toMatch(/payments {2}\(mTLS STRICT\)/);
    expect(f).toMatch(/\[S\] \S+ STRICT/);
  });

  it('? shows the key help and any key closes it', async () => {
    const { until, ready, press } = open(await shippedRun('flood-rate-limited'));
    await ready();
    press('?');
    await until((x) => x.includes('play / pause simulated time'));
    press('x');
    await until((x) => !x.includes('play / pause simulated time'));
  });

  it('q quits the app', async () => {
    const onQuit = vi.fn();
    const { ready, press } = open(await shippedRun('flood-rate-limited'), { onQuit });
    await ready();
    press('q');
    await vi.waitFor(() => expect(onQuit).toHaveBeenCalledOnce(), { timeout: 5000, interval: 5 });
  });

  it('every line of every frame fits in 80 columns', async () => {
    const { until, ready, press, screen } = open(await shippedRun('bookinfo-pivot-open'));
    expect(await ready()).toContain('attack graph');
    press('\t');
    press('\t');
    await until((x) => x.includes('[mesh]'));
    const width = (l: string): number => [...l.replace(/\u001b\[[0-9;]*m/g, '')].length;
    for (const f of screen.frames) for (const l of f.split('\n')) expect(width(l), l).toBeLessThanOrEqual(80);
  });
});

describe('meshrange tui --watch on screen', () => {
  it('a re-run replaces what the screen shows, and a failed one says so and keeps the last good run', async () => {
    let push: ((u: TuiUpdate) => void) | undefined;
    const watch = (on: (u: TuiUpdate) => void): (() => void) => { push = on; return () => { push = undefined; }; };
    const screen = render(<App run={await shippedRun('flood-rate-limited')} color={false} columns={80} rows={24} watch={watch} />);
    screens.push(screen);
    const frame = (): string => screen.lastFrame() ?? '';
    await vi.waitFor(() => { expect(push).toBeDefined(); expect(frame()).toContain('flood-rate-limited'); }, { timeout: 5000, interval: 5 });
    push!({ run: await shippedRun('payments-strict-principal') });
    await vi.waitFor(() => expect(frame()).toContain('payments-strict-principal'), { timeout: 5000, interval: 5 });
    push!({ error: 'scenario.yaml:3:1: error [bad-field] nope' });
    await vi.waitFor(() => expect(frame()).toContain('re-run failed, showing the last good run'), { timeout: 5000, interval: 5 });
    expect(frame()).toContain('payments-strict-principal');
  });
});

describe('meshrange tui warnings', () => {
  it('the run\'s warnings are counted in the header and listed in the mesh pane', async () => {
    const run = { ...(await shippedRun('flood-rate-limited')), warnings: ['scenario.yaml:3:5: warning [unknown-host] evil.example is no host of the mesh'] };
    const screen = render(<App run={run} color={false} columns={80} rows={24} />);
    screens.push(screen);
    const frame = (): string => screen.lastFrame() ?? '';
    await vi.waitFor(() => expect(frame()).toContain('1 warning (mesh pane)'), { timeout: 5000, interval: 5 });
    await vi.waitFor(() => expect(frame()).toContain('? help, q quit'), { timeout: 5000, interval: 5 });
    screen.stdin.write('\t\t');
    await vi.waitFor(() => expect(frame()).toMatch(/1 warning:\n.*warning \[unknown-host\]/), { timeout: 5000, interval: 5 });
  });
});

describe('sparklines', () => {
  it('a selected flood shows its ok and 429 over simulated time as sparklines', async () => {
    const run = await shippedRun('flood-rate-limited');
    const screen = render(<App run={run} color={false} columns={80} rows={40} tickMs={10} />);
    screens.push(screen);
    const frame = (): string => screen.lastFrame() ?? '';
    await vi.waitFor(() => { if (!frame().includes('? help, q quit')) throw new Error('not ready'); }, { timeout: 5000, interval: 5 });
    screen.stdin.write('j');
    await vi.waitFor(() => { if (!frame().includes('over simulated time')) throw new Error(`no sparkline:\n${frame()}`); }, { timeout: 5000, interval: 5 });
    expect(frame()).toMatch(/429 +[ ▁▂▃▄▅▆▇█]*[▁▂▃▄▅▆▇█]/);
  });
});
