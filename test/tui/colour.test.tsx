/**
 * Colours on screen: on by default, none at all with `color={false}` (what
 * NO_COLOR gives, cli/tui.ts colourWanted). chalk decides its colour level when
 * it is first loaded, so FORCE_COLOR is set before ink is imported.
 */
import { describe, expect, it, vi } from 'vitest';
import { shippedRun } from './run.js';

process.env['FORCE_COLOR'] = '1';
const { render } = await import('ink-testing-library');
const { App } = await import('../../src/tui/app.js');

/** an SGR foreground colour code */
const COLOUR = /\u001b\[(3[0-7]|9[0-7])m/;

describe('meshrange tui colours', () => {
  it('the verdict and outcomes are coloured by default, and the screen has no colour codes with colours off', async () => {
    const run = await shippedRun('payments-strict-principal');
    const coloured = render(<App run={run} color={true} columns={80} rows={24} />);
    const plain = render(<App run={run} color={false} columns={80} rows={24} />);
    try {
      await vi.waitFor(() => { expect(coloured.lastFrame()).toContain('CONTAINED'); expect(plain.lastFrame()).toContain('CONTAINED'); }, { timeout: 5000, interval: 5 });
      expect(coloured.lastFrame()).toMatch(COLOUR);
      expect(plain.lastFrame()).not.toMatch(COLOUR);
    } finally {
      coloured.unmount();
      plain.unmount();
    }
  });
});
