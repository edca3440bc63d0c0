/**
 * Scenario text → a validated scenario document, with every problem located
 * (file:line:col) and phrased so a person can fix it. Pure.
 */
import type { z } from 'zod';
import { IssueList } from '../core/issues.js';
import { fieldName } from '../loader/reader.js';
import { parseYaml, type SourceDoc } from '../loader/yaml-source.js';
import { actionModule, supportedActions } from './actions/index.js';
import { COMMON_FIELDS } from './actions/types.js';
import { STOLEN_TOKEN } from './attacker.js';
import { scenarioSchema, type ScenarioDoc } from './schema.js';
import { parseControlSpec, type ExpectDoc } from './expect.js';

export interface LoadedScenario {
  file: string;
  doc: ScenarioDoc;
  src: SourceDoc;
}

/**
 * True when a file found in a scenario folder is to be run as a scenario: a
 * document of it says `kind: Scenario` (in any YAML spelling: a comment after
 * it, quotes, JSON form, a merge) or names a meshrange.io apiVersion with any
 * kind but another meshrange kind (Exercise) — or the file does not parse,
 * so that running it reports the error instead of `--check` passing by
 * skipping it.
 */
export function looksLikeScenario(text: string, file = 'scenario.yaml'): boolean {
  const issues = new IssueList();
  const docs = parseYaml(file, text, issues);
  if (issues.hasErrors()) return true;
  return docs.some((d) => isScenarioDocument(d.value));
}

/** meshrange.io kinds that are not scenarios and sit beside them (an exercise folder's exercise.yaml). */
const OTHER_MESHRANGE_KINDS: ReadonlySet<string> = new Set(['exercise']);

function isScenarioDocument(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const kind = Object.hasOwn(v, 'kind') ? (v as { kind: unknown }).kind : undefined;
  const api = Object.hasOwn(v, 'apiVersion') ? (v as { apiVersion: unknown }).apiVersion : undefined;
  if (typeof kind === 'string' && kind.trim().toLowerCase() === 'scenario') return true;
  // A meshrange.io document is meant for meshrange: unless it is another kind meshrange knows, it is run, so a
  // missing or misspelt kind (Scenarios) is a located error rather than a test CI silently drops.
  return typeof api === 'string' && api.trim().toLowerCase().startsWith('meshrange.io/')
    && !(typeof kind === 'string' && OTHER_MESHRANGE_KINDS.has(kind.trim().toLowerCase()));
}

export function parseScenario(file: string, text: string, issues: IssueList): LoadedScenario | null {
  const before = issues.errors.length;
  const docs = parseYaml(file, text, issues);
  if (issues.errors.length > before) return null;
  if (docs.length !== 1) {
    issues.error('scenario-documents', `a scenario file holds exactly one YAML document, found ${docs.length}`, { file, line: 1, col: 1 },
      'put one scenario per file');
    return null;
  }
  return checkScenarioSource(file, docs[0] as SourceDoc, issues);
}

/**
 * A parsed scenario document → a validated scenario (the checks of
 * parseScenario after the YAML). Exported so that a scenario composed from
 * more than one file (an exercise: scenario.yaml + the trainee's attack.yaml)
 * is validated exactly as a file is, its `src` locating each node in the file
 * it came from.
 */
export function checkScenarioSource(file: string, src: SourceDoc, issues: IssueList): LoadedScenario | null {
  const before = issues.errors.length;
  refuseProtoKeys(src, src.value, [], issues);
  if (issues.errors.length > before) return null;
  // jitless: zod would compile a parser per object schema (new Function) on the first parse, which a run of one
  // scenario pays in full and the bundle's code cache cannot keep: ~5 ms of a ~180 ms start (B4), the suite no slower.
  const parsed = scenarioSchema.safeParse(src.value, { reportInput: true, jitless: true });
  if (!parsed.success) {
    for (const issue of onePerPlace(parsed.error.issues)) reportZodIssue(src, issue, issues);
    return null;
  }
  const doc = parsed.data;
  if (doc.spec.tokens && Object.hasOwn(doc.spec.tokens, STOLEN_TOKEN)) {
    issues.error('token-name-reserved', `spec.tokens may not define "${STOLEN_TOKEN}": \`jwt: ${STOLEN_TOKEN}\` replays a token the attacker took`,
      src.locateKey(['spec', 'tokens', STOLEN_TOKEN]), 'rename the token');
  }
  const ids = new Map<string, number>();
  doc.spec.steps.forEach((s, i) => {
    const path = ['spec', 'steps', i];
    const prev = ids.get(s.id);
    if (prev !== undefined) issues.error('step-id-duplicate', `step id "${s.id}" is already used by step ${prev + 1}`, src.locate([...path, 'id']), 'give every step a unique id');
    ids.set(s.id, i);
    const mod = actionModule(s.action);
    if (!mod) {
      issues.error('action-unsupported', `action "${s.action}" is part of the scenario format but this version of meshrange does not run it yet`,
        src.locate([...path, 'action']), `use one of: ${supportedActions().join(', ')}`);
    } else {
      // A field the action does not read would be silently ignored: refuse it.
      for (const key of Object.keys(s)) {
        if (COMMON_FIELDS.includes(key as never) || mod.fields.includes(key as never)) continue;
        issues.error('step-field-unused', `step "${s.id}": \`${key}\` has no meaning for action ${s.action}`, src.locateKey([...path, key]),
          `remove it; ${s.action} reads ${mod.fields.length > 0 ? mod.fields.join(', ') : 'no other fields'}`);
      }
      for (const r of mod.required ?? []) {
        if (s[r.field] === undefined) issues.error('step-missing-field', `step "${s.id}": ${s.action} needs \`${r.field}\``, src.locate(path), r.hint);
      }
      mod.check?.({ step: s, path, doc, src, issues });
    }
    checkExpect(s.expect, path, src, issues, s.action);
    // `stolen` is reserved: the most recent token in the attacker's state when the step runs.
    if (typeof s.jwt === 'string' && s.jwt !== STOLEN_TOKEN && !Object.hasOwn(doc.spec.tokens ?? {}, s.jwt)) {
      issues.error('unknown-token', `step "${s.id}": jwt "${s.jwt}" is not one of spec.tokens`, src.locate([...path, 'jwt']),
        `use one of: ${[...Object.keys(doc.spec.tokens ?? {}), STOLEN_TOKEN].join(', ')} (${STOLEN_TOKEN}: replay the most recent token the attacker took), or write the claim set inline`);
    }
    if (s.token !== undefined && s.jwt !== undefined) {
      issues.error('step-conflict', `step "${s.id}": give either token or jwt, not both`, src.locate([...path, 'jwt']));
    }
  });
  if (issues.errors.length > before) return null;
  return { file, doc, src };
}

/** `expect: {outcome, stoppedBy}`: the control must be one a report can name, and only a step that is stopped has one (expect.ts). */
function checkExpect(e: ExpectDoc | undefined, path: (string | number)[], src: SourceDoc, issues: IssueList, action: string): void {
  if (e === undefined || typeof e === 'string' || e.stoppedBy === undefined) return;
  const at = src.locate([...path, 'expect', 'stoppedBy']);
  if (e.outcome === 'allowed') {
    issues.error('expect-stopped-by-allowed', 'expect: a step expected to be allowed is stopped by nothing, so it cannot name a control in stoppedBy', at,
      'remove stoppedBy, or expect blocked or partial');
    return;
  }
  const spec = parseControlSpec(e.stoppedBy);
  if ('problem' in spec) { issues.error('expect-unknown-control', `expect.stoppedBy: ${spec.problem}`, at, spec.hint); return; }
  // a flood counts what the overwhelmed app refused as its effect, never in stoppedBy (actions/flood.ts)
  if (action === 'flood' && spec.kind === 'App') {
    issues.error('expect-stopped-by-app-flood', 'expect: a flood is never stopped by App — what the overwhelmed app refuses is the flood\'s effect (evidence.flood.saturated), so this expectation could never be met', at,
      'expect the flood allowed (nothing stopped it), or name the control that should (RateLimit, CircuitBreaker, …)');
  }
}

/**
 * `__proto__` as a key (a token, a header, a workload…) would be dropped by
 * the schema's records without a word, or reach a prototype: refuse it where it
 * is written. (Depth is bounded by the YAML reader.)
 */
function refuseProtoKeys(src: SourceDoc, v: unknown, path: (string | number)[], issues: IssueList): void {
  if (Array.isArray(v)) { v.forEach((x, i) => refuseProtoKeys(src, x, [...path, i], issues)); return; }
  if (typeof v !== 'object' || v === null) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === '__proto__') {
      issues.error('scenario-reserved-key', `${fieldName(path) || '(document)'}: "__proto__" cannot be a name in a scenario`, src.locateKey([...path, k]), 'rename it');
      continue;
    }
    refuseProtoKeys(src, x, [...path, k], issues);
  }
}

/**
 * One problem per place: two checks of one value (a number past both the safe-integer bound and the field's own
 * limit) would say the same thing twice. The one that says more is kept (better).
 */
export function onePerPlace(list: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const byPlace = new Map<string, z.core.$ZodIssue>();
  for (const issue of list) {
    const key = JSON.stringify(issue.path.filter((p): p is string | number => typeof p !== 'symbol'));
    const prev = byPlace.get(key);
    if (prev === undefined || better(issue, prev)) byPlace.set(key, issue);
  }
  return list.filter((issue) => byPlace.get(JSON.stringify(issue.path.filter((p): p is string | number => typeof p !== 'symbol'))) === issue);
}

/** The check that says more: the field's own (custom) over a generic one, the tighter of two bounds. */
function better(a: z.core.$ZodIssue, b: z.core.$ZodIssue): boolean {
  if (a.code === 'custom' || b.code === 'custom') return a.code === 'custom' && b.code !== 'custom';
  if (a.code === 'too_big' && b.code === 'too_big') return Number(a.maximum) < Number(b.maximum);
  if (a.code === 'too_small' && b.code === 'too_small') return Number(a.minimum) > Number(b.minimum);
  return false;
}

/** zod's type names in YAML's words, with their article */
const TYPE_WORDS = new Map([['int', 'a whole number'], ['number', 'a number'], ['string', 'a string'], ['array', 'a list'], ['object', 'a mapping'],
  ['record', 'a mapping'], ['boolean', 'true or false'], ['tuple', 'a list'], ['bigint', 'a whole number'], ['null', 'null']]);

/** What to write instead, for a value of the wrong type or out of bounds (`format`: where the field's format is written). */
export function boundHint(issue: z.core.$ZodIssue, format = 'docs/scenario-format.md (or `meshrange schema`)'): string | undefined {
  const unit = (origin: string): string => (origin === 'string' ? ' characters' : origin === 'array' || origin === 'set' ? ' items' : '');
  if (issue.code === 'too_big') return `use ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}${unit(issue.origin)}`;
  if (issue.code === 'too_small') return `use ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}${unit(issue.origin)}`;
  if (issue.code === 'invalid_type') return `write ${TYPE_WORDS.get(issue.expected) ?? `a ${issue.expected}`} here: the field's format is in ${format}`;
  if (issue.code === 'invalid_format' && issue.format === 'datetime') return 'write a date and time of the calendar with its offset, like 2026-01-01T00:00:00Z or 2026-03-01T09:30:00+01:00';
  // a pattern or a check of the field's own (a DNS label, a duration, a destination): its message says the form
  if (issue.code === 'invalid_format' || issue.code === 'custom') return `write it in the form the message gives: the field's format is in ${format}`;
  return undefined;
}

function reportZodIssue(src: SourceDoc, issue: z.core.$ZodIssue, issues: IssueList): void {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = src.locate(path);
  const name = fieldName(path) || '(document)';
  let message = issue.message;
  let hint: string | undefined;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} in ${name}`;
    hint = 'check the spelling against the scenario format (docs/scenario-format.md, or `meshrange schema`)';
    const loc = src.locateKey([...path, issue.keys[0] as string]);
    issues.error('scenario-unknown-field', message, loc, hint);
    return;
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // One branch whose shape the input has (a string for `expect: blocked`, a map for `expect: {…}`) explains the problem best.
    // A branch refused at its root for its type fits worst, for its value next; one refused further in fits best.
    const misfit = (branch: readonly z.core.$ZodIssue[]): number =>
      branch.some((x) => x.path.length === 0 && x.code === 'invalid_type') ? 2 : branch.some((x) => x.path.length === 0 && x.code === 'invalid_value') ? 1 : 0;
    const best = Math.min(...issue.errors.map(misfit));
    const fits = issue.errors.filter((b) => misfit(b) === best);
    if (fits.length === 1) {
      for (const x of fits[0] as z.core.$ZodIssue[]) reportZodIssue(src, { ...x, path: [...issue.path, ...x.path] } as z.core.$ZodIssue, issues);
      return;
    }
  }
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) {
    message = `${name} is required`;
    hint = `add ${name}`;
  } else if (issue.code === 'invalid_value') {
    message = `${name}: ${issue.message}`;
    hint = `allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.code === 'invalid_key') {
    // a record's key refused by the key's own check (a header name): its message, not zod's "Invalid key in record"
    issues.error('scenario-invalid', `${name}: the name ${issue.issues[0]?.message ?? issue.message}`, src.locateKey(path), 'write the name in the form the message gives');
    return;
  } else if (issue.code === 'invalid_format' && issue.format === 'datetime') {
    // zod's "Invalid ISO datetime" says neither what the form is nor that the date itself may be the problem (February 30)
    message = `${name}: not an ISO 8601 date and time with an offset, or not a date of the calendar`;
    hint = boundHint(issue);
  } else {
    message = `${name}: ${issue.message}`;
    hint = boundHint(issue);
  }
  issues.error('scenario-invalid', message, where, hint);
}
