/**
 * MR0106 deny-path-bypass — a path-based DENY that a spelling of the same path gets past.
 *
 * Semantics (istio-semantics.md §6.6, §6.4):
 * - `paths` match the path after the mesh's `pathNormalization` (default
 *   BASE), case-sensitively: BASE decodes %HH of unreserved characters only,
 *   turns `\` into `/` and removes dot segments; `//` is merged only with
 *   MERGE_SLASHES and above; `%2F`/`%5C` are decoded only with
 *   DECODE_AND_MERGE_SLASHES; case is never folded; a trailing slash stays.
 *   The normalisation used here is the policy code's own
 *   (policy/matchers.ts normalizePath), and so is the matcher (pathMatcher).
 * - Many applications treat `/a//b`, `/a%2Fb`, `/A/B` and `/a/b/` as `/a/b`
 *   (Istio's Security Best Practices page warns about exactly these).
 * - Path parameters: `;name=value` on a segment (`/admin;jsessionid=x`) is
 *   removed by no pathNormalization mode, NONE to DECODE_AND_MERGE_SLASHES,
 *   yet Java servlet containers (Tomcat, Jetty) and Spring MVC drop it, serving
 *   `/admin` (istio/istio#27409). An exact value does not match it, and
 *   neither does a `{*}`/`{**}` template: Envoy's uri_template lets a glob
 *   match unreserved characters, `%`, `:`, `@` and the sub-delims but `*` and
 *   `=` (policy/matchers.ts), so the `=` is outside every template.
 *   A prefix `/admin/*` does match `/admin/x;a=b`.
 * Rule: for each DENY `paths` value, a concrete path it is meant to deny is
 * respelled (doubled slash, `%2F` for an inner slash, upper case, trailing
 * slash, a path parameter `;a=b` on the last segment); a respelling that
 * survives normalisation as a path no `paths` value of the same policy
 * matches is reported — the request reaches the app.
 */
import type { AuthorizationPolicy, PathNormalization } from '../../model/types.js';
import { normalizePath, pathMatcher } from '../../policy/matchers.js';
import { ruleLoc, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

/** A path the pattern matches: the exact value, a prefix with a segment added, a template with segments filled. */
export function samplePath(pattern: string): string | null {
  if (pattern === '*') return null;
  let p = pattern.replace(/\{\*\*\}/g, 'x/y').replace(/\{\*\}/g, 'x');
  if (p.startsWith('*')) p = `/x${p.slice(1)}`;
  else if (p.endsWith('*')) p = `${p.slice(0, -1)}${p.endsWith('/*') ? '' : '/'}x`;
  return p.startsWith('/') ? p : null;
}

export interface Respelling {
  how: string;
  path: string;
}

/** The `how` of the path-parameter respelling: no pathNormalization mode undoes it, so the hint says so. */
export const PATH_PARAMETER = 'path parameter ;a=b';

/** The respellings of `sample` an application commonly reads as the same path. */
export function respellings(sample: string): Respelling[] {
  const out: Respelling[] = [{ how: 'doubled slash', path: `/${sample}` }];
  const inner = sample.indexOf('/', 1);
  if (inner > 0) {
    out.push({ how: 'doubled inner slash', path: `${sample.slice(0, inner)}/${sample.slice(inner)}` });
    out.push({ how: 'encoded slash %2F', path: `${sample.slice(0, inner)}%2F${sample.slice(inner + 1)}` });
  }
  if (sample.toUpperCase() !== sample) out.push({ how: 'upper case', path: sample.toUpperCase() });
  if (!sample.endsWith('/')) out.push({ how: 'trailing slash', path: `${sample}/` });
  out.push({ how: PATH_PARAMETER, path: `${sample};a=b` });
  return out.filter((r, i) => r.path !== sample && out.findIndex((x) => x.path === r.path) === i);
}

/** The respellings of `pattern`'s sample path that no pattern of `all` matches after `mode` normalisation. */
export function bypasses(pattern: string, all: readonly string[], mode: PathNormalization): Respelling[] {
  const sample = samplePath(pattern);
  if (sample === null) return [];
  const matchers = all.map((x) => pathMatcher(x));
  const caught = (path: string): boolean => {
    const n = normalizePath(path, mode);
    return !n.ok || matchers.some((m) => m(n.path));
  };
  if (!caught(sample)) return [];
  return respellings(sample).filter((r) => !caught(r.path));
}

/** An exact path value (no `*`, no template), to which a `;*` prefix can be added as is. */
function pathString(pattern: string): boolean {
  return !pattern.includes('*') && !pattern.includes('{');
}

function denyPaths(p: AuthorizationPolicy): string[] {
  const out: string[] = [];
  for (const r of p.rules ?? []) for (const t of r.to ?? []) for (const x of t.operation.paths ?? []) out.push(x);
  return out;
}

export const rule: LintRule = {
  code: 'MR0106',
  name: 'deny-path-bypass',
  severity: 'warning',
  title: 'A path-based DENY that another spelling of the path gets past',
  help: 'DENY paths are compared with the path after the mesh pathNormalization (BASE by default), case-sensitively. '
    + 'A doubled slash, an encoded slash (%2F), another case, a trailing slash or a path parameter (;a=b) can survive normalisation as a path the DENY does not match, '
    + 'while the application serves the denied resource (servlet containers and Spring drop path parameters; no pathNormalization mode does). '
    + 'Fix: prefer an ALLOW list of the paths that are meant to be public; '
    + 'set meshConfig.pathNormalization to MERGE_SLASHES or DECODE_AND_MERGE_SLASHES (slashes only); '
    + 'add the variants (e.g. "/admin", "/admin/*", "/admin;*") to the DENY, or make the application refuse path parameters.',
  check(mesh) {
    const out: RawFinding[] = [];
    const mode = mesh.config.pathNormalization;
    for (const p of mesh.authorizationPolicies) {
      if (p.action !== 'DENY' || p.dryRun) continue;
      const all = denyPaths(p);
      for (const pattern of [...new Set(all)]) {
        const got = bypasses(pattern, all, mode);
        if (got.length === 0) continue;
        const at = (p.rules ?? []).findIndex((r) => (r.to ?? []).some((t) => (t.operation.paths ?? []).includes(pattern)));
        const param = got.some((g) => g.how === PATH_PARAMETER)
          ? `; no pathNormalization removes a path parameter: ${pathString(pattern) ? `deny "${pattern};*" too, or ` : ''}make the application refuse paths with ";"`
          : '';
        out.push({
          subject: subjectOf('AuthorizationPolicy', p.meta),
          ...ruleLoc(p, at),
          message: `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name} denies paths "${pattern}", but under pathNormalization ${mode} ${got.map((g) => `${g.how} "${g.path}"`).join(', ')} ${got.length === 1 ? 'is' : 'are'} not denied`,
          hint: `allow-list the public paths instead of denying this one, or set meshConfig.pathNormalization: ${mode === 'DECODE_AND_MERGE_SLASHES' ? 'DECODE_AND_MERGE_SLASHES and deny the other spellings too' : 'DECODE_AND_MERGE_SLASHES'} and make the application refuse other spellings${param}`,
        });
      }
    }
    return out;
  },
};
