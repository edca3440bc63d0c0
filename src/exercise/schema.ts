/**
 * The exercise format (exercises/README.md; issue 12 item 1) as zod schemas:
 * exercise.yaml (`kind: Exercise`), the trainee's attack.yaml, and the
 * working folder's `.meshrange-exercise.json`. Exercise files come from
 * strangers (a training pack): every string, list and number is bounded and
 * an unknown field is an error, never ignored.
 */
import * as z from 'zod/mini';
import { intIn as int, stringOfLength as bounded } from '../core/zod.js'; // and zod's English messages (mini sets none)
import { stepSchema } from '../scenario/schema.js';

// zod/mini, as the scenario schema (core/zod.ts): every CLI start builds these at import, and the first schemas
// classic zod builds in a process cost ~4 ms more (benchmarks.md B4, T4.1).

export const MAX_OBJECTIVES = 32;
export const MAX_HINTS = 16;
export const MAX_POINTS = 1000;
/** Steps a trainee's attack.yaml may hold. */
export const MAX_ATTACK_STEPS = 64;
const MAX_TEXT = 4000;

const dnsLabel = z.string().check(z.maxLength(63), z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a DNS label (lower case, digits, -; at most 63 characters)' }));
const workloadRef = z.string().check(z.maxLength(253), z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, { message: 'must be `namespace/name`' }));
const text = (max: number) => z.string().check(z.minLength(1, { message: 'must not be empty' }), z.maxLength(max, { message: `must be at most ${max} characters` }));
const points = int(0, MAX_POINTS);
/** A relative path that stays inside its folder (string checks, no regex over input). */
function insideFolder(p: string): boolean {
  return !p.startsWith('/') && !p.includes('\\') && !p.includes('\0') && !p.split('/').includes('..');
}

export const LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
export const ROLES = ['defender', 'attacker'] as const;
/** What `using` of a reach objective asks the reaching step to have used. */
export const USING = ['stolen-jwt', 'stolen-cert', 'stolen'] as const;

export const objectiveSchema = z.strictObject({
  id: dnsLabel,
  text: text(500),
  kind: z.enum(['attack', 'legit']),
  /** a step of scenario.yaml whose outcome is judged */
  step: z.optional(z.string().check(z.maxLength(253))),
  outcome: z.optional(z.enum(['allowed', 'blocked', 'partial'])),
  /** only this control counts: a control kind, `ns/name`, or `Kind ns/name` */
  stoppedBy: z.optional(bounded(1, 300)),
  /** a spec.traffic flow of scenario.yaml */
  traffic: z.optional(z.strictObject({ from: bounded(1, 300), to: bounded(1, 300) })),
  /** ok/sent at least this (default 0.99) */
  minSuccess: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** attacker exercises: a workload an attack step of attack.yaml must reach */
  reach: z.optional(workloadRef),
  using: z.optional(z.enum(USING)),
  points,
});

export const exerciseSchema = z.strictObject({
  apiVersion: z.literal('meshrange.io/v1alpha1'),
  kind: z.literal('Exercise'),
  metadata: z.strictObject({ name: dnsLabel }),
  spec: z.strictObject({
    title: text(200),
    level: z.enum(LEVELS),
    role: z.enum(ROLES),
    story: text(MAX_TEXT),
    scenario: bounded(1, 300).check(z.refine(insideFolder, { message: 'must be a relative path inside the exercise folder (no leading /, no .., no \\)' })),
    objectives: z.array(objectiveSchema).check(z.minLength(1, { message: 'list at least one objective' }), z.maxLength(MAX_OBJECTIVES)),
    hints: z.optional(z.array(z.strictObject({ text: text(MAX_TEXT), cost: points })).check(z.maxLength(MAX_HINTS))),
    passScore: z.optional(int(0, MAX_OBJECTIVES * MAX_POINTS)),
  }),
});

/** attack.yaml: the steps an attacker-exercise trainee writes (the scenario's step format, product.md §2). */
export const attackFileSchema = z.strictObject({
  steps: z.array(stepSchema).check(z.maxLength(MAX_ATTACK_STEPS, { message: `at most ${MAX_ATTACK_STEPS} steps` })),
});

/** `.meshrange-exercise.json` in a working folder. */
export const progressSchema = z.strictObject({
  name: dnsLabel,
  hintsTaken: int(0, MAX_HINTS),
  /**
   * the hints taken when the exercise was first found passed as a hint was asked for: those cost points, the
   * later ones are free (a hint cannot un-pass an exercise). Absent: not passed yet, every hint costs.
   */
  hintsCharged: z.optional(int(0, MAX_HINTS)),
});

export type ExerciseDoc = z.infer<typeof exerciseSchema>;
export type ObjectiveDoc = z.infer<typeof objectiveSchema>;
export type Progress = z.infer<typeof progressSchema>;
export const PROGRESS_FILE = '.meshrange-exercise.json';
