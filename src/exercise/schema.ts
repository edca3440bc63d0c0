/**
 * The exercise format (exercises/README.md; issue 12 item 1) as zod schemas:
 * exercise.yaml (`kind: Exercise`), the trainee's attack.yaml, and the
 * working folder's `.meshrange-exercise.json`. Exercise files come from
 * strangers (a training pack): every string, list and number is bounded and
 * an unknown field is an error, never ignored.
 */
import { z } from 'zod';
import { stepSchema } from '../scenario/schema.js';

export const MAX_OBJECTIVES = 32;
export const MAX_HINTS = 16;
export const MAX_POINTS = 1000;
/** Steps a trainee's attack.yaml may hold. */
export const MAX_ATTACK_STEPS = 64;
const MAX_TEXT = 4000;

const dnsLabel = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a DNS label (lower case, digits, -; at most 63 characters)' });
const workloadRef = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, { message: 'must be `namespace/name`' });
const text = (max: number) => z.string().min(1, { message: 'must not be empty' }).max(max, { message: `must be at most ${max} characters` });
const points = z.number().int().min(0).max(MAX_POINTS);
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
  step: z.string().max(253).optional(),
  outcome: z.enum(['allowed', 'blocked', 'partial']).optional(),
  /** only this control counts: a control kind, `ns/name`, or `Kind ns/name` */
  stoppedBy: z.string().min(1).max(300).optional(),
  /** a spec.traffic flow of scenario.yaml */
  traffic: z.strictObject({ from: z.string().min(1).max(300), to: z.string().min(1).max(300) }).optional(),
  /** ok/sent at least this (default 0.99) */
  minSuccess: z.number().min(0).max(1).optional(),
  /** attacker exercises: a workload an attack step of attack.yaml must reach */
  reach: workloadRef.optional(),
  using: z.enum(USING).optional(),
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
    scenario: z.string().min(1).max(300).refine(insideFolder, { message: 'must be a relative path inside the exercise folder (no leading /, no .., no \\)' }),
    objectives: z.array(objectiveSchema).min(1, { message: 'list at least one objective' }).max(MAX_OBJECTIVES),
    hints: z.array(z.strictObject({ text: text(MAX_TEXT), cost: points })).max(MAX_HINTS).optional(),
    passScore: z.number().int().min(0).max(MAX_OBJECTIVES * MAX_POINTS).optional(),
  }),
});

/** attack.yaml: the steps an attacker-exercise trainee writes (the scenario's step format, product.md §2). */
export const attackFileSchema = z.strictObject({
  steps: z.array(stepSchema).max(MAX_ATTACK_STEPS, { message: `at most ${MAX_ATTACK_STEPS} steps` }),
});

/** `.meshrange-exercise.json` in a working folder. */
export const progressSchema = z.strictObject({
  name: dnsLabel,
  hintsTaken: z.number().int().min(0).max(MAX_HINTS),
});

export type ExerciseDoc = z.infer<typeof exerciseSchema>;
export type ObjectiveDoc = z.infer<typeof objectiveSchema>;
export type Progress = z.infer<typeof progressSchema>;
export const PROGRESS_FILE = '.meshrange-exercise.json';
