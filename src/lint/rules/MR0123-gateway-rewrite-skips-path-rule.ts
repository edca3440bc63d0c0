/**
 * MR0123 gateway-rewrite-skips-path-rule — a VirtualService route at an ingress gateway rewrites a path the gateway's
 * policies admit onto one they refuse: the client reaches the refused path's backend anyway.
 *
 * Semantics (istio-semantics §9, §3, §6; policy/routing.ts `rewritten`, policy/decide.ts):
 * - at a gateway, the RBAC filter (AuthorizationPolicy, after RequestAuthentication's jwt_authn) runs before the
 *   router: it reads the path the client sent. A route's `rewrite.uri` / `uriRegexRewrite` changes the path only in the
 *   router, after RBAC, so a route that matches P and rewrites it to R carries the client to R's backend while the
 *   gateway's policies judged P;
 * - delegated routes (model/delegate.ts) are merged into their root's `http` before this rule reads it.
 * Rule, by the engine: for each Gateway, each VirtualService bound to it (`gateways` names it), each HTTP/HTTPS server
 * of the Gateway with a host overlapping a VS host, each gateway pod the Gateway selects and each port of a Service
 * selecting that pod that the server's number names; each http route with a rewrite and a destination, and each of its
 * matches whose uri is exact or prefix (none: `/`; regex matches are skipped), P = the exact value or the prefix and
 * R = P rewritten as routing rewrites it. Two requests from outside (203.0.113.10, no token) through that Service port,
 * Host = a concrete VS host, method GET (and the match's exact method if another), path P and path R, are decided by
 * policy/decide.ts. Reported when R is stopped by an AuthorizationPolicy or RequestAuthentication that applies to the
 * gateway pod and P is not stopped by one that does: the gateway's path rule does not hold for this route.
 * One warning per (VirtualService, route, P, R, refusing policy). Bounded: at most MAX_PAIRS request pairs per mesh;
 * past it the rule stops and says so in one info finding.
 */
import { SimulationLimitError } from '../../core/limits.js';
import { meshIndex } from '../../model/index.js';
import { resolveGatewayName, type HttpMatch, type HttpRoute, type VirtualService } from '../../model/routing.js';
import type { AuthorizationPolicy, Mesh, Workload } from '../../model/types.js';
import { decide, DEFAULT_OUTSIDE_IP, targetPortOf, type Decision, type StoppedBy } from '../../policy/decide.js';
import { concreteHost, gatewaysFor, hostsMatch, rewrittenPath, serverMode } from '../../policy/routing.js';
import { apSelected, raSelected, subjectOf } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

/** decide() request pairs (P and R) per mesh before the rule stops. */
export const MAX_PAIRS = 10_000;

/** The stop of a decision by an AuthorizationPolicy or RequestAuthentication that applies to the gateway pod, if any. */
function gatewayStop(mesh: Mesh, d: Decision, w: Workload): StoppedBy | undefined {
  if (d.outcome !== 'blocked') return undefined;
  return d.stoppedBy.find((s) => {
    if (s.name === null) return false;
    const slash = s.name.indexOf('/');
    const ns = s.name.slice(0, slash);
    const name = s.name.slice(slash + 1);
    if (s.control === 'AuthorizationPolicy') {
      const p = mesh.authorizationPolicies.find((x) => x.meta.namespace === ns && x.meta.name === name);
      return p !== undefined && appliesTo(mesh, p, w);
    }
    if (s.control === 'RequestAuthentication') {
      const ra = mesh.requestAuthentications.find((x) => x.meta.namespace === ns && x.meta.name === name);
      return ra !== undefined && raSelected(mesh, ra).includes(w);
    }
    return false;
  });
}

function appliesTo(mesh: Mesh, p: AuthorizationPolicy, w: Workload): boolean {
  // targetRefs (a Gateway API Gateway or Service): the policy applies where decide() applied it; a stop naming it at
  // a request through this gateway pod is taken as the gateway's when the policy lives in the pod's namespace
  if (p.targetRefs.length > 0) return p.meta.namespace === w.namespace;
  return apSelected(mesh, p).includes(w);
}

/** The uri of a match as a concrete path P: exact, prefix (empty = `/`), none = `/`; null for regex and presence. */
function matchedPath(m: HttpMatch | null): string | null {
  const u = m?.uri;
  if (!u) return '/';
  if ('exact' in u) return u.exact;
  if ('prefix' in u) return u.prefix === '' ? '/' : u.prefix;
  return null;
}

interface Hit { vs: VirtualService; index: number; route: HttpRoute; p: string; r: string; method: string; stop: StoppedBy; gateway: string; port: number }

export const rule: LintRule = {
  code: 'MR0123',
  name: 'gateway-rewrite-skips-path-rule',
  severity: 'warning',
  title: 'A route at an ingress gateway rewrites a path the gateway\'s policies admit onto one they refuse',
  help: 'At an Istio ingress gateway the AuthorizationPolicies (RBAC filter) run before the router: they read the path the client sent. '
    + 'A VirtualService route\'s `rewrite.uri` or `uriRegexRewrite` changes the path only in the router, after RBAC. A route that matches a path P '
    + 'and rewrites it to R therefore carries the client to R\'s backend while the gateway judged P: when the gateway\'s policies refuse R '
    + '(an ALLOW that needs a request principal on `/api*`, a DENY on `/admin*`) but admit P, the path rule is bypassed. Delegated routes count '
    + 'as merged into their root. meshrange decides both requests (from outside, no token, GET) through the gateway and reports the pairs where '
    + 'only R is refused by a policy at the gateway. '
    + 'Fix: put the requirement on the backend workload (a RequestAuthentication and an AuthorizationPolicy selecting it), or make the gateway\'s path rule '
    + 'cover the matched path too, or drop the rewrite.',
  check(mesh) {
    const out: RawFinding[] = [];
    const withRewrite = mesh.virtualServices.filter((vs) => vs.http.some((r) => r.rewrite && (r.rewrite.uri !== undefined || r.rewrite.uriRegexRewrite)));
    if (withRewrite.length === 0) return out;
    const index = meshIndex(mesh);
    let left = MAX_PAIRS;
    let stopped = false;
    const asked = new Set<string>();
    const hits = new Map<string, Hit>();
    const gwPods = mesh.workloads.filter((w) => w.gateway);
    for (const g of mesh.gateways) {
      const gwName = `${g.meta.namespace}/${g.meta.name}`;
      const bound = withRewrite.filter((vs) => vs.gateways.some((n) => resolveGatewayName(n, vs.meta.namespace) === gwName));
      if (bound.length === 0) continue;
      const pods = gwPods.filter((w) => gatewaysFor(mesh.gateways, w).includes(g));
      for (const server of g.servers) {
        const mode = serverMode(server);
        if (mode !== 'http' && mode !== 'https') continue;
        const n = server.port.number;
        for (const w of pods) {
          for (const s of index.servicesSelecting(w)) {
            for (const sp of s.ports) {
              if (sp.port !== n && (targetPortOf(sp, w) ?? sp.port) !== n) continue;
              for (const vs of bound) {
                const host = vs.hosts.find((h) => server.hosts.some((sh) => hostsMatch(h, sh)));
                if (host === undefined) continue;
                const hostHeader = concreteHost(host);
                vs.http.forEach((route, ri) => {
                  if (stopped || !route.rewrite || !route.route || route.route.length === 0) return;
                  const matches: (HttpMatch | null)[] = route.match && route.match.length > 0 ? route.match : [null];
                  for (const m of matches) {
                    const p = matchedPath(m);
                    if (p === null || !p.startsWith('/')) continue;
                    let r: string | undefined;
                    try { r = rewrittenPath(vs, ri, m, p); } catch (e) { if (e instanceof SimulationLimitError) continue; throw e; }
                    if (r === undefined || r === p) continue;
                    const methods = ['GET'];
                    const mm = m?.method;
                    if (mm && 'exact' in mm && mm.exact !== 'GET') methods.push(mm.exact);
                    for (const method of methods) {
                      const key = `${s.fqdn}\u0000${sp.port}\u0000${hostHeader}\u0000${method}\u0000${p}\u0000${r}`;
                      if (asked.has(key)) continue;
                      asked.add(key);
                      if (left <= 0) { stopped = true; return; }
                      left--;
                      const ask = (path: string): Decision | null => {
                        try {
                          return decide(mesh, {
                            from: { kind: 'outside', ip: DEFAULT_OUTSIDE_IP },
                            to: { kind: 'host', host: s.fqdn, port: sp.port },
                            protocol: 'http', method, path, headers: { host: hostHeader }, tls: 'auto',
                          }, { pick: () => 0 });
                        } catch (e) { if (e instanceof SimulationLimitError) return null; throw e; }
                      };
                      const dR = ask(r);
                      const stop = dR ? gatewayStop(mesh, dR, w) : undefined;
                      if (!stop) continue;
                      const dP = ask(p);
                      if (!dP || gatewayStop(mesh, dP, w)) continue;
                      const id = `${vs.meta.namespace}/${vs.meta.name}\u0000${ri}\u0000${p}\u0000${r}\u0000${stop.control}\u0000${stop.name ?? ''}`;
                      if (!hits.has(id)) hits.set(id, { vs, index: ri, route, p, r, method, stop, gateway: gwName, port: sp.port });
                    }
                  }
                });
              }
            }
          }
        }
      }
    }
    for (const h of hits.values()) out.push(finding(h));
    if (stopped) {
      const first = withRewrite[0] as VirtualService;
      out.push({
        severity: 'info',
        subject: subjectOf('VirtualService', first.meta),
        message: `MR0123 stopped after ${MAX_PAIRS} request pairs: the rewrites of the remaining routes were not judged`,
        hint: 'lint a smaller part of the mesh (fewer --mesh folders) to judge them',
      });
    }
    return out;
  },
};

function finding(h: Hit): RawFinding {
  const vs = `${h.vs.meta.namespace}/${h.vs.meta.name}`;
  const o = h.route.origin;
  const which = `http route ${h.index}${h.route.name !== undefined ? ` (${h.route.name})` : ''}${o ? ` (route ${o.index} of delegate VirtualService ${o.vs}, merged in place of route ${o.root})` : ''}`;
  const policy = `${h.stop.control} ${h.stop.name ?? ''}`;
  return {
    subject: subjectOf('VirtualService', h.vs.meta),
    ...(h.route.loc ? { loc: h.route.loc } : {}),
    message: `VirtualService ${vs} ${which} at Gateway ${h.gateway} rewrites ${h.p} to ${h.r} after the gateway's policies ran: `
      + `${policy} refuses ${h.method} ${h.r} from outside without a token at the gateway, but admits ${h.method} ${h.p}, which the route then sends on as ${h.r}`,
    hint: `put the requirement on the backend workload (a RequestAuthentication and an AuthorizationPolicy selecting it), or make ${policy}'s path rule cover ${h.p} too, or drop the rewrite`,
  };
}
