/**
 * The event log and the run fingerprint (kernel.ts rule 8, OMNeT++'s
 * cFingerprint): a hash of every recorded entry, the cheapest whole-run
 * regression check.
 */
import { describe, expect, it } from 'vitest';
import { fnv1a64, stableStringify } from '../../../src/core/hash.js';
import { Kernel } from '../../../src/sim/kernel/index.js';

/** A small seeded model: clients send requests with random gaps; a server answers or drops. */
function model(seed: number, options: { tweak?: boolean } = {}): Kernel {
  const k = new Kernel({ seed, keepLog: true });
  let n = 0;
  const send = (kk: Kernel) => {
    const id = n++;
    kk.record('request', { id, from: 'web', to: 'db', ok: kk.uniform('drop', 0, 1) > 0.1 });
    if (options.tweak === true && id === 17) kk.record('extra', { id });
    if (n < 50) kk.schedule(kk.exponential('gap', 10), send);
  };
  k.schedule(0, send);
  k.run();
  return k;
}

describe('Kernel fingerprint', () => {
  it('same seed and events → same fingerprint; one different event → a different fingerprint', () => {
    const a = model(5);
    const b = model(5);
    expect(a.fingerprint()).toMatch(/^[0-9a-f]{16}$/);
    expect(b.fingerprint()).toBe(a.fingerprint());
    expect(b.log).toEqual(a.log);
    expect(model(5, { tweak: true }).fingerprint()).not.toBe(a.fingerprint());
    expect(model(6).fingerprint()).not.toBe(a.fingerprint());
    // One field of one entry differs:
    const c = new Kernel({ seed: 1 });
    const d = new Kernel({ seed: 1 });
    c.record('x', { v: 1 });
    d.record('x', { v: 2 });
    expect(d.fingerprint()).not.toBe(c.fingerprint());
  });

  it('the fingerprint is FNV-1a 64 of every entry stable-stringified, one per line (core/hash.ts)', () => {
    const k = new Kernel({ seed: 1, keepLog: true });
    expect(k.fingerprint()).toBe(fnv1a64(''));
    k.record('start');
    k.schedule(1.25, (kk) => kk.record('cert', { workload: 'ns/wébapp ✓', ok: true, ttl: 3.5e-7, why: null }));
    k.schedule(2, (kk) => kk.record('deny', { z: 1, a: 'x', rule: 'ns[a]-policy[p]-rule[0]' }));
    k.run();
    const lines = k.log.map((e) => stableStringify(e));
    expect(lines[1]).toBe('{"kind":"cert","ok":true,"t":1.25,"ttl":3.5e-7,"why":null,"workload":"ns/wébapp ✓"}');
    expect(k.fingerprint()).toBe(fnv1a64(lines.join('\n') + '\n'));
    expect(k.recorded).toBe(3);
  });

  it('record appends {t: now, kind, ...data}; keepLog: N keeps the N most recent, the fingerprint covers all', () => {
    const full = new Kernel({ seed: 1, keepLog: true });
    const last3 = new Kernel({ seed: 1, keepLog: 3 });
    const none = new Kernel({ seed: 1 });
    for (const k of [full, last3, none]) {
      for (let i = 0; i < 10; i++) k.schedule(i, (kk) => kk.record('tick', { i }));
      k.run();
    }
    expect(full.log).toHaveLength(10);
    expect(full.log[4]).toEqual({ t: 4, kind: 'tick', i: 4 });
    expect(last3.log).toEqual([
      { t: 7, kind: 'tick', i: 7 },
      { t: 8, kind: 'tick', i: 8 },
      { t: 9, kind: 'tick', i: 9 },
    ]);
    expect(none.log).toEqual([]);
    expect(last3.fingerprint()).toBe(full.fingerprint());
    expect(none.fingerprint()).toBe(full.fingerprint());
  });

  it("'t' and 'kind' are reserved keys in record data", () => {
    const k = new Kernel({ seed: 1 });
    expect(() => k.record('x', { t: 5 })).toThrow(RangeError);
    expect(() => k.record('x', { kind: 'y' })).toThrow(RangeError);
    expect(k.recorded).toBe(0);
  });
});
