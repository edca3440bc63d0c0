/**
 * exercise.yaml and attack.yaml text → validated documents, every problem
 * located (file:line:col) with what to change. Pure: text in, values out.
 */
import type { z } from 'zod';
import { IssueList, type Location } from '../core/issues.js';
import { grouped } from '../core/text.js';
import { fieldName } from '../loader/reader.js';
import { parseYaml, type Path, type SourceDoc } from '../loader/yaml-source.js';
import { attackFileSchema, exerciseSchema, progressSchema, type ExerciseDoc, type Progress } from './schema.js';
import type { StepDoc } from '../scenario/schema.js';
import { boundHint, onePerPlace } from '../scenario/load.js';
import { jsonDocument } from '../core/escape.js';

export interface LoadedExercise {
  file: string;
  doc: ExerciseDoc;
  src: SourceDoc;
}

export interface LoadedAttack {
  file: string;
  steps: StepDoc[];
  src: SourceDoc;
}

function oneDocument(file: string, text: string, issues: IssueList, what: string): SourceDoc | null {
  const before = issues.errors.length;
  const docs = parseYaml(file, text, issues);
  if (issues.errors.length > before) return null;
  if (docs.length !== 1) {
    issues.error('exercise-documents', `${what} holds exactly one YAML document, found ${docs.length}`, { file, line: 1, col: 1 }, `write one ${what} per file`);
    return null;
  }
  return docs[0] as SourceDoc;
}

/** zod's complaints, located in the file they are about. */
export function reportZod(src: SourceDoc, error: z.core.$ZodError, issues: IssueList, what: string, shape: string): void {
  for (const issue of onePerPlace(error.issues)) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const name = fieldName(path) || '(document)';
    if (issue.code === 'unrecognized_keys') {
      issues.error(`${what}-unknown-field`, `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} in ${name}`,
        src.locateKey([...path, issue.keys[0] as string]), `check the spelling against ${shape}`);
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      issues.error(`${what}-invalid`, `${name} is required`, src.locate(path), `add ${name} (${shape})`);
    } else if (issue.code === 'invalid_value') {
      issues.error(`${what}-invalid`, `${name}: ${issue.message}`, src.locate(path), `allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`);
    } else {
      issues.error(`${what}-invalid`, `${name}: ${issue.message}`, src.locate(path), boundHint(issue, shape) ?? `see ${shape}`);
    }
  }
}

const FORMAT = 'the exercise format (exercises/README.md)';

export function parseExercise(file: string, text: string, issues: IssueList): LoadedExercise | null {
  const src = oneDocument(file, text, issues, 'exercise.yaml');
  if (!src) return null;
  const parsed = exerciseSchema.safeParse(src.value, { reportInput: true });
  if (!parsed.success) { reportZod(src, parsed.error, issues, 'exercise', FORMAT); return null; }
  const doc = parsed.data;
  const before = issues.errors.length;
  const err = (path: Path, message: string, hint: string): void => issues.error('exercise-objective', message, src.locate(path), hint);
  const ids = new Map<string, number>();
  let max = 0;
  doc.spec.objectives.forEach((o, i) => {
    const at: Path = ['spec', 'objectives', i];
    max += o.points;
    const prev = ids.get(o.id);
    if (prev !== undefined) err([...at, 'id'], `objective id "${o.id}" is already used by objective ${prev + 1}`, 'give every objective a unique id');
    ids.set(o.id, i);
    const targets = [o.step !== undefined, o.traffic !== undefined, o.reach !== undefined].filter(Boolean).length;
    if (targets !== 1) {
      err(at, `objective "${o.id}" must name exactly one of step, traffic or reach (it names ${targets})`,
        'attack objectives judge a step (or, attacker exercises, reach a workload); legit objectives a step or a traffic flow');
      return;
    }
    if (o.step !== undefined && o.outcome === undefined) err(at, `objective "${o.id}": a step objective needs \`outcome\``, 'add outcome: allowed, blocked or partial');
    if (o.step === undefined && (o.outcome !== undefined || o.stoppedBy !== undefined)) {
      err(at, `objective "${o.id}": outcome and stoppedBy judge a step, and this objective names none`, 'remove them, or name a step');
    }
    if (o.traffic === undefined && o.minSuccess !== undefined) err([...at, 'minSuccess'], `objective "${o.id}": minSuccess judges a traffic flow, and this objective names none`, 'remove it, or name a flow with traffic: {from, to}');
    if (o.traffic !== undefined && o.kind !== 'legit') err([...at, 'traffic'], `objective "${o.id}": a traffic flow is legitimate load, so its objective is kind: legit`, 'set kind: legit');
    if (o.reach === undefined && o.using !== undefined) err([...at, 'using'], `objective "${o.id}": using qualifies reach`, 'remove it, or add reach: <namespace/workload>');
    if (o.reach !== undefined && (o.kind !== 'attack' || doc.spec.role !== 'attacker')) {
      err([...at, 'reach'], `objective "${o.id}": reach is for attack objectives of attacker exercises`, 'set kind: attack and spec.role: attacker, or judge a step instead');
    }
  });
  if (doc.spec.passScore !== undefined && doc.spec.passScore > max) {
    issues.error('exercise-pass-score', `passScore ${doc.spec.passScore} is more than the ${max} points the objectives are worth`, src.locate(['spec', 'passScore']),
      `lower it to at most ${max}, or leave it out (default: all ${max})`);
  }
  if (issues.errors.length > before) return null;
  return { file, doc, src };
}

export function parseAttack(file: string, text: string, issues: IssueList): LoadedAttack | null {
  const src = oneDocument(file, text, issues, 'attack.yaml');
  if (!src) return null;
  const parsed = attackFileSchema.safeParse(src.value, { reportInput: true });
  if (!parsed.success) { reportZod(src, parsed.error, issues, 'attack', 'the step format (docs/scenario-format.md, spec.steps[]): attack.yaml is `steps: [...]`'); return null; }
  const before = issues.errors.length;
  parsed.data.steps.forEach((step, i) => {
    // The trainee plays the attacker in the exercise's world; a step may not restate that world's facts.
    if (step.exploit !== undefined) {
      issues.error('attack-states-facts', `step "${step.id}": exploit says which workloads a pivot can take over — a fact of the exercise's world, which its scenario marks (spec.workloads: exploitable), not a choice of the attacker`,
        src.locateKey(['steps', i, 'exploit']), 'remove exploit: the pivot takes over the workloads the scenario marks exploitable');
    }
    if (typeof step.jwt === 'object' && (step.jwt.signer ?? 'trusted') === 'trusted') {
      issues.error('attack-states-facts', `step "${step.id}": an inline jwt is signed with a key the issuer's JWKS trusts (signer: trusted, the default), and the attacker holds no such key`,
        src.locateKey(['steps', i, 'jwt']), 'sign it with a key of your own (signer: untrusted), or send a token the attacker took (jwt: stolen)');
    }
  });
  if (issues.errors.length > before) return null;
  return { file, steps: parsed.data.steps, src };
}

/** Where the character at `pos` of `text` is: 1-based line and column. */
function offsetLocation(file: string, text: string, pos: number): Location {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  return { file, line, col: pos - lineStart + 1 };
}

/** Where JSON.parse stopped: its "at position N" (or the end, for an unexpected end); line 1 column 1 when it does not say. */
function jsonErrorLocation(file: string, text: string, message: string): Location {
  const at = message.lastIndexOf('at position ');
  if (at >= 0) {
    const n = Number.parseInt(message.slice(at + 'at position '.length), 10);
    if (Number.isSafeInteger(n) && n >= 0) return offsetLocation(file, text, Math.min(n, text.length));
  }
  if (message.includes('end of JSON input')) return offsetLocation(file, text, text.length);
  return { file, line: 1, col: 1 };
}

/** The largest progress file read: it holds a name and a count (~50 characters); a bigger one is not one. */
export const MAX_PROGRESS_CHARS = 64 * 1024;

/** A parsed progress file: the document, and where its fields are (for errors about them). */
export interface LoadedProgress extends Progress {
  /** where `path` of the file is written (line 1 column 1 when it cannot be said) */
  locate: (path: Path) => Location;
}

/** `.meshrange-exercise.json` of a working folder (a trainee may have edited it: validated like the rest, every error located). */
export function parseProgress(file: string, text: string, issues: IssueList): LoadedProgress | null {
  if (text.length > MAX_PROGRESS_CHARS) {
    issues.error('exercise-progress', `${file} holds ${grouped(text.length)} characters; a progress file holds a name and a count (at most ${grouped(MAX_PROGRESS_CHARS)})`,
      { file, line: 1, col: 1 }, 'restore it as {"name": "<exercise>", "hintsTaken": 0}, or start the exercise again');
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    issues.error('exercise-progress', `${file} is not JSON: ${message}`, jsonErrorLocation(file, text, message),
      'restore it as {"name": "<exercise>", "hintsTaken": 0}, or start the exercise again');
    return null;
  }
  // JSON is YAML: the YAML reader knows where each field is written (a file it cannot read is located at 1:1); read
  // so only when a place is asked for.
  let doc: SourceDoc | undefined | null = null;
  const locate = (p: Path): Location => {
    if (doc === null) { const docs = parseYaml(file, text, new IssueList()); doc = docs.length === 1 ? docs[0] : undefined; }
    return doc ? doc.locate(p) : { file, line: 1, col: 1 };
  };
  const parsed = progressSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const at = first ? first.path.filter((p): p is string | number => typeof p !== 'symbol') : [];
    issues.error('exercise-progress', `${file}: ${first ? `${fieldName(at) || '(document)'}: ${first.message}` : 'invalid'}`,
      locate(at), 'it holds {"name": "<exercise>", "hintsTaken": <n>}; start the exercise again if it is lost');
    return null;
  }
  return { ...parsed.data, locate };
}

export function renderProgress(p: Progress): string {
  return jsonDocument({ name: p.name, hintsTaken: p.hintsTaken, ...(p.hintsCharged !== undefined ? { hintsCharged: p.hintsCharged } : {}) });
}
