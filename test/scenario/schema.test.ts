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
