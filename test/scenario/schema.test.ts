import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';

describe('scenario JSON Schema', () => {
  it('the committed schema/scenario.schema.json is the one the code exports (regenerate: npx meshrange schema > schema/scenario.schema.json)', () => {
    const committed = readFileSync(path.resolve(__dirname, '../../schema/scenario.schema.json'), 'utf8');
    expect(committed).toBe(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
  });
});

describe('scenario schema messages', () => {
  // This file loads the scenario schema and nothing else of zod: classic zod, which sets its English locale when it
  // builds a schema, is not here to do it. Without core/zod.ts's locale, zod/mini says only "Invalid input".
  it('reads in English with only zod/mini loaded (core/zod.ts sets the locale classic zod sets)', async () => {
    const { scenarioSchema } = await import('../../src/scenario/schema.js');
    const r = scenarioSchema.safeParse({ apiVersion: 5, kind: 'Scenario', metadata: { name: 'x', extra: 1 }, spec: {} });
    expect(r.success).toBe(false);
    const messages = r.success ? [] : r.error.issues.map((i) => i.message);
    expect(messages).toContain('Invalid input: expected "meshrange.io/v1alpha1"');
    expect(messages).toContain('Unrecognized key: "extra"');
    expect(messages).toContain('Invalid input: expected object, received undefined');
  });

  it('keeps each bound message of the format (rate, bytes) as written', async () => {
    const { stepSchema } = await import('../../src/scenario/schema.js');
    const issue = (step: object): string[] => { const r = stepSchema.safeParse({ id: 'a', action: 'flood', ...step }); return r.success ? [] : r.error.issues.map((i) => i.message); };
    expect(issue({ rate: '2000000/s' })).toEqual(['must be between 0.001/s and 1,000,000/s']);
    expect(issue({ bytes: 0 })).toEqual(['must be at least 1 byte']);
    expect(issue({ depth: 1.5 })).toEqual(['Invalid input: expected int, received number']);
  });
});
