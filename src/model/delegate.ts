/**
 * VirtualService delegation, as Istio merges it before it builds any route
 * (pilot/pkg/model/virtualservice.go mergeVirtualServicesIfNeeded, run on the
 * whole VirtualService list at each push, PILOT_ENABLE_VIRTUAL_SERVICE_DELEGATE
 * on by default):
 *
 *  - a VirtualService without hosts is a delegate; it routes nothing itself;
 *  - a root VirtualService has an http route with `delegate: {name,
 *    namespace}` (namespace: the root's when empty). That route is replaced by
 *    the delegate's http routes, each merged with it (below), in place; a
 *    delegate that does not exist (or has hosts) or is not exported to the
 *    root's namespace makes Istio skip that one route, so the next routes of
 *    the root are tried;
 *  - a delegate route whose matches do not fit inside the root route's matches
 *    (hasConflict) is dropped, the others kept;
 *  - one level only: a delegate's route cannot delegate (the webhook refuses it).
 *
 * Merging one delegate route d into the root route r:
 *  - matches: r without matches → d's; d without matches → r's; else every
 *    (root match, d match) pair without conflict, the d match's fields over the
 *    root match's (uri, scheme, method, authority, port, sourceNamespace and
 *    gateways when d leaves them unset; headers, withoutHeaders, queryParams,
 *    sourceLabels joined, d's winning). A d match that fits no root match drops
 *    the whole route.
 *  - conflict between a root match and a d match: a StringMatch field both set
 *    where d's is not inside r's (r exact: d the same exact; r prefix: d a
 *    prefix or exact starting with it; a regex on either side with the other
 *    side set; an empty match `{}` on either side), ignoreUriCase differing,
 *    both ports set and different, r's sourceNamespace set and d's not the same,
 *    a sourceLabels key both set to different values, both gateways lists set
 *    and d's not within r's. Header and query parameter names are compared as
 *    written (Istio indexes the root's map by the delegate's key): a root
 *    `X-Team` and a delegate `x-team` never conflict, and the merged match
 *    keeps both, so a request must satisfy both (Envoy reads them as one
 *    header).
 *  - d's name becomes `r-d` (r's alone when d has none); d's rewrite,
 *    directResponse, timeout and retries default to r's. (Istio passes on
 *    fault, mirror(s), corsPolicy and headers too, which meshrange does not
 *    simulate: the loader warns where they are written.)
 *
 * Short names in a delegate's destinations are its own namespace's (Istio
 * resolves each VirtualService's short names before merging): the merged route
 * carries `origin.namespace`; the gateways a merged match names are written out
 * as `namespace/name` from the VirtualService that wrote them.
 *
 * The merge reads `httpWritten` when a root has one, so it can be run again on
 * a changed list (analysis/counterfactual.ts removes a delegate): every run
 * starts from the routes as written.
 */
import type { Location } from '../core/issues.js';
import { ownValue, setOwn } from '../core/record.js';
import { resolveGatewayName, type HttpMatch, type HttpRoute, type StringMatch, type VirtualService } from './routing.js';

export interface DelegateProblem {
  code: 'vs-delegate-not-found' | 'vs-delegate-not-exported' | 'vs-delegate-conflict' | 'vs-delegate-unused' | 'vs-delegate-too-large';
  severity: 'error' | 'warning';
  message: string;
  loc: Location;
  hint: string;
}

const idOf = (vs: VirtualService): string => `${vs.meta.namespace}/${vs.meta.name}`;

/**
 * The most routes and matches the merge may make, all roots together. Every root route may name the same delegate,
 * so the merged list grows as (delegating routes × delegate routes × matches crossed): a 32 MiB mesh of one-line
 * routes could ask for 10^11 routes. Real meshes merge thousands; past this the mesh is refused with an error.
 */
export const MAX_MERGED_ROUTE_PARTS = 500_000;

/** The VirtualService list Istio routes with: every root's http routes with its delegates' merged in (header). */
export function mergeDelegates(vss: readonly VirtualService[]): { list: VirtualService[]; problems: DelegateProblem[] } {
  const delegates = new Map<string, VirtualService>();
  for (const vs of vss) if (vs.hosts.length === 0) delegates.set(idOf(vs), vs);
  const used = new Set<string>();
  const problems: DelegateProblem[] = [];
  let parts = 0;
  let tooLarge: DelegateProblem | null = null;
  const list = vss.map((vs) => {
    if (tooLarge !== null) return vs;
    const written = vs.httpWritten ?? vs.http;
    if (!written.some((r) => r.delegate !== undefined)) return vs;
    const http: HttpRoute[] = [];
    written.forEach((route, i) => {
      const ref = route.delegate;
      if (ref === undefined) { http.push(route); return; }
      const ns = ref.namespace === undefined || ref.namespace === '' ? vs.meta.namespace : ref.namespace;
      const key = `${ns}/${ref.name}`;
      const at = ref.loc ?? vs.meta.loc;
      const d = delegates.get(key);
      if (d === undefined) {
        // the name as written, quoted and clipped: it names nothing, so nothing has checked it
        const named = JSON.stringify(key.length > 120 ? `${key.slice(0, 120)}…` : key);
        problems.push({ code: 'vs-delegate-not-found', severity: 'warning', loc: at,
          message: `VirtualService ${idOf(vs)}: http route ${i} delegates to VirtualService ${named}, which does not exist or has hosts (a delegate has none): Istio skips this route, and requests go on to the next routes`,
          hint: `create that VirtualService without spec.hosts, or name an existing delegate` });
        return;
      }
      used.add(key);
      if (!exportedTo(d, vs.meta.namespace)) {
        problems.push({ code: 'vs-delegate-not-exported', severity: 'warning', loc: at,
          message: `VirtualService ${idOf(vs)}: http route ${i} delegates to VirtualService ${key}, which is not exported to namespace ${vs.meta.namespace}: Istio skips this route, and requests go on to the next routes`,
          hint: `add ${vs.meta.namespace} (or "*") to the exportTo of ${key}` });
        return;
      }
      d.http.forEach((sub, j) => {
        if (tooLarge !== null) return;
        // bounded before the work: the pairs this route's matches are crossed into
        parts += 1 + Math.max(1, route.match?.length ?? 0) * Math.max(1, sub.match?.length ?? 0);
        if (parts > MAX_MERGED_ROUTE_PARTS) {
          tooLarge = { code: 'vs-delegate-too-large', severity: 'error', loc: at,
            message: `VirtualService ${idOf(vs)}: http route ${i} delegates to VirtualService ${key}, and the routes delegation makes pass ${MAX_MERGED_ROUTE_PARTS} routes and matches in all: meshrange refuses the mesh rather than build them`,
            hint: 'delegate fewer routes to large delegates, or split the mesh into smaller parts to analyse' };
          return;
        }
        const merged = mergeRoute(route, sub, vs.meta.namespace, d.meta.namespace);
        if (merged === null) {
          problems.push({ code: 'vs-delegate-conflict', severity: 'warning', loc: sub.loc ?? d.meta.loc,
            message: `VirtualService ${key}: http route ${j} has a match that fits none of the matches of http route ${i} of VirtualService ${idOf(vs)}, which delegates to it: Istio drops this route`,
            hint: 'make each match of a delegate route a narrowing of the root route\'s match (the same exact, or a longer prefix), or widen the root\'s match' });
          return;
        }
        merged.origin = { vs: key, namespace: d.meta.namespace, index: j, root: i };
        http.push(merged);
      });
    });
    return { ...vs, http, httpWritten: written };
  });
  if (tooLarge !== null) return { list: [...vss], problems: [tooLarge] };
  for (const [key, d] of delegates) {
    if (used.has(key)) continue;
    problems.push({ code: 'vs-delegate-unused', severity: 'warning', loc: d.meta.loc,
      message: `VirtualService ${key} has no hosts, so it is a delegate, and no http route of another VirtualService delegates to it: it routes nothing`,
      hint: `list the hosts it routes in spec.hosts, or delegate to it from a root VirtualService (http[].delegate: { name: ${d.meta.name}, namespace: ${d.meta.namespace} })` });
  }
  return { list, problems };
}

/** The delegate is visible to the root's namespace: exportTo empty (the mesh default, made explicit by the loader), `*`, `.` in the root's own, or the namespace named. */
function exportedTo(d: VirtualService, ns: string): boolean {
  if (d.exportTo.length === 0) return true;
  return d.exportTo.some((e) => e === '*' || e === ns || (e === '.' && d.meta.namespace === ns));
}

/** mergeHTTPRoute: null when a match of `sub` fits none of the root's. */
function mergeRoute(root: HttpRoute, sub: HttpRoute, rootNs: string, subNs: string): HttpRoute | null {
  const rootMatches = (root.match ?? []).map((m) => resolved(m, rootNs));
  const subMatches = (sub.match ?? []).map((m) => resolved(m, subNs));
  let match: HttpMatch[];
  if (rootMatches.length === 0) match = subMatches;
  else if (subMatches.length === 0) match = rootMatches;
  else {
    match = [];
    for (const leaf of subMatches) {
      let found = false;
      for (const r of rootMatches) {
        if (hasConflict(r, leaf)) continue;
        match.push(mergeMatch(r, leaf));
        found = true;
      }
      if (!found) return null;
    }
  }
  const out: HttpRoute = { ...sub };
  delete out.delegate;
  if (match.length > 0) out.match = match; else delete out.match;
  const name = sub.name === undefined || sub.name === '' ? root.name : root.name === undefined || root.name === '' ? sub.name : `${root.name}-${sub.name}`;
  if (name !== undefined) out.name = name; else delete out.name;
  if (out.rewrite === undefined && root.rewrite !== undefined) out.rewrite = root.rewrite;
  // a root's directResponse answers for every merged route without its own (redirect first, then it, then the
  // destinations, as every route is read): current Istio copies it; older releases did not
  if (out.directResponse === undefined && root.directResponse !== undefined) out.directResponse = root.directResponse;
  if (out.timeoutMs === undefined && root.timeoutMs !== undefined) out.timeoutMs = root.timeoutMs;
  if (out.retries === undefined && root.retries !== undefined) out.retries = root.retries;
  return out;
}

/** The match with its gateways written out as `namespace/name` (or `mesh`), as the VirtualService that wrote them names them. */
function resolved(m: HttpMatch, ns: string): HttpMatch {
  if (m.gateways === undefined || m.gateways.length === 0) return m;
  return { ...m, gateways: m.gateways.map((g) => resolveGatewayName(g, ns)) };
}

/** mergeHTTPMatchRequest: the leaf's fields over the root's. */
function mergeMatch(root: HttpMatch, leaf: HttpMatch): HttpMatch {
  const out: HttpMatch = { ...leaf };
  const name = leaf.name === undefined || leaf.name === '' ? root.name : root.name === undefined || root.name === '' ? leaf.name : `${root.name}-${leaf.name}`;
  if (name !== undefined) out.name = name;
  if (out.uri === undefined && root.uri !== undefined) out.uri = root.uri;
  if (out.scheme === undefined && root.scheme !== undefined) out.scheme = root.scheme;
  if (out.method === undefined && root.method !== undefined) out.method = root.method;
  if (out.authority === undefined && root.authority !== undefined) out.authority = root.authority;
  for (const k of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    const joined = joinOwn(root[k], leaf[k]);
    if (joined !== undefined) out[k] = joined;
  }
  const labels = joinOwn(root.sourceLabels, leaf.sourceLabels);
  if (labels !== undefined) out.sourceLabels = labels;
  if (out.port === undefined && root.port !== undefined) out.port = root.port;
  if ((out.sourceNamespace === undefined || out.sourceNamespace === '') && root.sourceNamespace !== undefined) out.sourceNamespace = root.sourceNamespace;
  if ((out.gateways === undefined || out.gateways.length === 0) && root.gateways !== undefined) out.gateways = root.gateways;
  return out;
}

/** Two maps joined, b's keys winning, as own properties only; undefined when both are empty or absent. */
function joinOwn<T>(a: Readonly<Record<string, T>> | undefined, b: Readonly<Record<string, T>> | undefined): Record<string, T> | undefined {
  const ka = a === undefined ? [] : Object.keys(a);
  const kb = b === undefined ? [] : Object.keys(b);
  if (ka.length === 0 && kb.length === 0) return undefined;
  const out: Record<string, T> = {};
  for (const k of ka) setOwn(out, k, ownValue(a, k) as T);
  for (const k of kb) setOwn(out, k, ownValue(b, k) as T);
  return out;
}

/** hasConflict: the leaf match does not fit inside the root match. */
function hasConflict(root: HttpMatch, leaf: HttpMatch): boolean {
  if (stringMatchConflict(root.uri, leaf.uri) || stringMatchConflict(root.scheme, leaf.scheme)
    || stringMatchConflict(root.method, leaf.method) || stringMatchConflict(root.authority, leaf.authority)) return true;
  for (const [k, v] of Object.entries(leaf.headers ?? {})) if (stringMatchConflict(ownValue(root.headers, k), v)) return true;
  for (const [k, v] of Object.entries(leaf.withoutHeaders ?? {})) if (stringMatchConflict(ownValue(root.withoutHeaders, k), v)) return true;
  for (const [k, v] of Object.entries(leaf.queryParams ?? {})) if (stringMatchConflict(ownValue(root.queryParams, k), v)) return true;
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  if (root.port !== undefined && root.port > 0 && leaf.port !== undefined && leaf.port > 0 && root.port !== leaf.port) return true;
  if (root.sourceNamespace !== undefined && root.sourceNamespace !== '' && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) {
    const rv = ownValue(root.sourceLabels, k);
    if (rv !== undefined && rv !== v) return true;
  }
  const rg = root.gateways ?? [];
  const lg = leaf.gateways ?? [];
  if (rg.length > 0 && lg.length > 0) {
    if (rg.length < lg.length) return true;
    const set = new Set(rg);
    if (lg.some((g) => !set.has(g))) return true;
  }
  return false;
}

/** A StringMatch's value of one kind, '' when it is of another (as the proto getters read it; `{}` is none of them). */
function part(m: StringMatch, kind: 'exact' | 'prefix' | 'regex'): string {
  return kind === 'exact' ? ('exact' in m ? m.exact : '') : kind === 'prefix' ? ('prefix' in m ? m.prefix : '') : ('regex' in m ? m.regex : '');
}

/** stringMatchConflict: both set and the leaf's not within the root's. */
function stringMatchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (root === undefined || leaf === undefined) return false;
  const [re, rp, rr] = [part(root, 'exact'), part(root, 'prefix'), part(root, 'regex')];
  const [le, lp, lr] = [part(leaf, 'exact'), part(leaf, 'prefix'), part(leaf, 'regex')];
  if (rr !== '' && (lr !== '' || lp !== '' || le !== '')) return true;
  if (lr !== '' && (rr !== '' || rp !== '' || re !== '')) return true;
  if (re !== '') return lp !== '' || le !== re;
  if (rp !== '') {
    if (lp !== '') return !lp.startsWith(rp);
    if (le !== '') return !le.startsWith(rp);
  }
  return true;
}
