/** Renderers of an exercise check: pure ExerciseReport → string. */
import { escapeControls, jsonDocument } from '../core/escape.js';
import type { ExerciseReport } from './check.js';

/** The JSON contract: { name, score, max, passed, hintsTaken, objectives: [{ id, text, kind, met, points, why }] } (+ fields). */
export function renderExerciseJson(r: ExerciseReport): string {
  const out = {
    name: r.name,
    title: r.title,
    role: r.role,
    score: r.score,
    max: r.max,
    passScore: r.passScore,
    passed: r.passed,
    hintsTaken: r.hintsTaken,
    hintCost: r.hintCost,
    objectives: r.objectives.map((o) => ({ id: o.id, text: o.text, kind: o.kind, met: o.met, points: o.points, why: o.why })),
  };
  return jsonDocument(out);
}

export function renderExerciseText(r: ExerciseReport): string {
  const e = escapeControls;
  const lines = [`${e(r.name)}: ${e(r.title)} (${r.role})`];
  for (const o of r.objectives) {
    lines.push(`  [${o.met ? 'x' : ' '}] ${e(o.id)} (${o.points} pts, ${o.kind}): ${e(o.text)}`);
    if (!o.met && o.why) lines.push(`        why: ${e(o.why)}`);
  }
  const hints = r.hintsTaken > 0 ? `, ${r.hintsTaken} hint${r.hintsTaken === 1 ? '' : 's'} taken (-${r.hintCost})` : '';
  lines.push(`score ${r.score}/${r.max}${hints}; pass at ${r.passScore}: ${r.passed ? 'PASSED' : 'not yet'}`);
  return `${lines.join('\n')}\n`;
}
