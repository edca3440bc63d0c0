/**
 * `impersonate`: can the attacker pass as another identity (product.md §2,
 * §3.1)? Every attempt is one request decided by the same engine as any
 * other (policy/decide.ts → inbound.ts, then the mesh in time); `using`
 * only changes what the client presents:
 *
 *  - `forged-cert`: the attacker's own process dials past its sidecar with
 *    Istio's ALPN and a certificate for `as` from a CA the mesh does not
 *    trust. STRICT and PERMISSIVE both put that client hello on the mTLS
 *    filter chain, which requires a mesh-signed client certificate: the
 *    handshake fails (code 0). DISABLE, or no sidecar: nothing terminates
 *    Istio mTLS and the plaintext app closes the connection (§1, §4).
 *  - `stolen-cert`: the same with a mesh-signed certificate the attacker took
 *    (steal-credentials `what: cert`) whose SPIFFE id is `as`. It works from
 *    any workload until its notAfter — rotation does not revoke it — and the
 *    server's AuthorizationPolicy sees the stolen principal. After notAfter:
 *    CertificateValidity. No such certificate held: blocked, and said so.
 *  - `spoofed-header`: identity headers naming `as` (X-Forwarded-Client-Cert,
 *    x-spiffe-id) on an ordinary request (through the sidecar, or past it
 *    with `tls: plaintext`). Envoy drops a client's XFCC unless the hop is
 *    mutual TLS from that client, so they never set the principal; but a
 *    rule on `request.headers[...]` reads whatever the client wrote (§6.4, §6.7).
 *  - `spoofed-ip`: X-Forwarded-For naming `as` (an address, or the pod
 *    address of a workload running as `as`). `ipBlocks` always see the peer
 *    address; `remoteIpBlocks` take the X-Forwarded-For entry a proxy
 *    trusts: a gateway trusts `numTrustedProxies` hops (default 0: none), a
 *    sidecar's last entry is always taken (§6.5, §9).
 *  - `plaintext`: the attacker's own process sends plaintext with no
 *    certificate: PERMISSIVE lets it in with no identity (principal rules do
 *    not match), STRICT refuses it at connection level (§4, §5.3, §6.5).
 *
 * `allowed` means the server acted on the request as `as` (forged-cert,
 * stolen-cert), or that the request got through at all (plaintext, spoofed-*).
 */
import { parseIp } from '../../core/ip.js';
import type { AuthorizationPolicy, Mesh, Workload } from '../../model/types.js';
import { principalOf, spiffeId } from '../../model/types.js';
import { whenHeaderName } from '../../policy/authorization-policy.js';
import type { Decision, IdentityOverride } from '../../policy/decide.js';
import { formatSimTime } from '../../sim/mesh/certificates.js';
import { stolenCertificateProblem } from '../attacker.js';
import type { StepDoc } from '../schema.js';
import type { StepResult } from '../types.js';
import { requestResult } from './request.js';
import { REQUEST_FIELDS, type ActionModule, type CheckInput } from './types.js';

type Using = NonNullable<StepDoc['using']>;

/** Identity headers a `spoofed-header` attempt writes; an AuthorizationPolicy may read any of them. */
export const SPOOFED_IDENTITY_HEADERS = ['x-forwarded-client-cert', 'x-spiffe-id'] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-z0-9]([-._a-z0-9]*[a-z0-9])?$/;

/** An identity as written in `as`: a SPIFFE id (its trust domain) or `ns/sa` (the mesh's). */
export interface ClaimedIdentity {
  trustDomain: string | null;
  namespace: string;
  serviceAccount: string;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` or `<ns>/<sa>`; null when `as` is neither. */
export function parseIdentity(text: string): ClaimedIdentity | null {
  if (text.length > 512) return null;
  if (text.startsWith('spiffe://')) {
    const parts = text.slice('spiffe://'.length).split('/');
    const [td, nsKey, ns, saKey, sa] = parts;
    if (parts.length !== 5 || nsKey !== 'ns' || saKey !== 'sa' || td === undefined || ns === undefined || sa === undefined) return null;
    if (td.length > 255 || !TRUST_DOMAIN.test(td)) return null;
    return validNames(ns, sa) ? { trustDomain: td, namespace: ns, serviceAccount: sa } : null;
  }
  const parts = text.split('/');
  const [ns, sa] = parts;
  if (parts.length !== 2 || ns === undefined || sa === undefined) return null;
  return validNames(ns, sa) ? { trustDomain: null, namespace: ns, serviceAccount: sa } : null;
}

function validNames(ns: string, sa: string): boolean {
  return ns.length <= 63 && DNS_LABEL.test(ns) && sa.length <= 253 && DNS_SUBDOMAIN.test(sa);
}

function spiffeOf(id: ClaimedIdentity, mesh: Mesh): string {
  return spiffeId(principalOf(id.trustDomain ?? mesh.config.trustDomain, id.namespace, id.serviceAccount));
}

/** The workloads running as an identity of this mesh's trust domain, by id. */
function workloadsAs(mesh: Mesh, id: ClaimedIdentity): Workload[] {
  if (id.trustDomain !== null && id.trustDomain !== mesh.config.trustDomain) return [];
  return mesh.workloads.filter((w) => w.namespace === id.namespace && w.serviceAccount === id.serviceAccount)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function check({ step, path, src, issues }: CheckInput): void {
  const using = step.using;
  const as = step.as;
  if (as !== undefined) {
    const ip = parseIp(as) !== null;
    if (ip && using !== undefined && using !== 'spoofed-ip') {
      issues.error('impersonate-as-invalid', `step "${step.id}": as "${as}" is an address, which only using: spoofed-ip can claim`, src.locate([...path, 'as']),
        'name an identity: spiffe://<trust domain>/ns/<namespace>/sa/<service account>, or <namespace>/<service account>');
    } else if (!ip && parseIdentity(as) === null) {
      issues.error('impersonate-as-invalid', `step "${step.id}": as "${as}" is not an identity`, src.locate([...path, 'as']),
        `write spiffe://<trust domain>/ns/<namespace>/sa/<service account> or <namespace>/<service account>${using === 'spoofed-ip' ? ', or an IP address' : ''}`);
    }
  }
  if (using === undefined) return;
  const own = using === 'forged-cert' || using === 'stolen-cert' || using === 'plaintext';
  if (own && step.tls !== undefined) {
    issues.error('step-conflict', `step "${step.id}": using ${using} decides how the attacker connects (its own process, past its sidecar); tls has no meaning here`,
      src.locateKey([...path, 'tls']), 'remove tls');
  }
  if ((using === 'forged-cert' || using === 'stolen-cert') && step.protocol === 'tls') {
    issues.error('step-conflict', `step "${step.id}": using ${using} originates Istio mTLS itself; protocol tls (an app's own TLS inside it) is not modeled`,
      src.locate([...path, 'protocol']), 'use protocol http, http2, grpc or tcp');
  }
  if ((using === 'spoofed-header' || using === 'spoofed-ip') && (step.protocol === 'tcp' || step.protocol === 'tls')) {
    issues.error('step-conflict', `step "${step.id}": using ${using} forges HTTP headers, which a ${step.protocol} connection does not carry`,
      src.locate([...path, 'protocol']), 'use protocol http, http2 or grpc');
  }
  const forged: readonly string[] = using === 'spoofed-header' ? SPOOFED_IDENTITY_HEADERS : using === 'spoofed-ip' ? ['x-forwarded-for'] : [];
  for (const name of Object.keys(step.headers ?? {})) {
    if (forged.includes(name.toLowerCase())) {
      issues.error('step-conflict', `step "${step.id}": using ${using} writes ${name} itself from \`as\``, src.locateKey([...path, 'headers', name]),
        `remove ${name} from headers (or use action: request to send it as written)`);
    }
  }
}

function bind({ step, path, src, issues, mesh }: CheckInput & { mesh: Mesh }): void {
  if (step.using !== 'spoofed-ip' || step.as === undefined || parseIp(step.as) !== null) return;
  const id = parseIdentity(step.as);
  if (id && workloadsAs(mesh, id).length === 0) {
    issues.error('impersonate-no-address', `step "${step.id}": no workload of the mesh runs as ${spiffeOf(id, mesh)}, so there is no address to claim`,
      src.locate([...path, 'as']), 'name the address to claim (as: 10.1.2.3), or an identity some workload runs as');
  }
}

export const impersonateAction: ActionModule = {
  action: 'impersonate',
  fields: [...REQUEST_FIELDS, 'as', 'using'],
  required: [
    { field: 'to', hint: 'add to: <host>:<port>' },
    { field: 'as', hint: 'add as: <namespace>/<service account> (or a SPIFFE id)' },
    { field: 'using', hint: 'add using: forged-cert, stolen-cert, spoofed-header, spoofed-ip or plaintext' },
  ],
  requestLike: true,
  check,
  bind,
  run(c, p) {
    const t = c.k.now;
    const using = p.step.using as Using;
    const as = p.step.as as string;
    const id = parseIdentity(as);
    const claimed = id ? spiffeOf(id, c.mesh) : as;
    const rs = c.requestSpec(p, `step/${p.step.id}/lb`);
    const base = { ...c.base(p), to: p.step.to as string, as: claimed, using };
    let credential: string;
    let certificate: NonNullable<StepResult['evidence']['impersonation']>['certificate'];
    let sentHeaders: Record<string, string> = {};
    let claimedIp: string | null = null;
    switch (using) {
      case 'forged-cert':
        rs.req = { ...rs.req, identity: { kind: 'forged-cert', spiffe: claimed } };
        credential = `a certificate for ${claimed} signed by a CA the mesh does not trust`;
        break;
      case 'stolen-cert': {
        const held = c.attacker.certificateFor(claimed);
        if (!held) {
          const reason = `the attacker holds no certificate for ${claimed}: take one first with steal-credentials (what: cert) from a workload running as it`;
          c.finish(p, { ...base, presented: null, outcome: 'blocked', code: null, mtls: null, expectationMet: null,
            stoppedBy: [{ control: 'CertificateValidity', name: null, reason }],
            evidence: { events: [{ t, hop: 'scenario', what: `${reason}; nothing is sent` }],
              impersonation: { credential: 'none: no stolen certificate for this identity', statement: reason } } });
          return;
        }
        const problem = stolenCertificateProblem(held, t, c.epochMs);
        const own: IdentityOverride = { kind: 'stolen-cert', spiffe: claimed, from: held.from, problem };
        rs.req = { ...rs.req, identity: own };
        certificate = { from: held.from, takenBy: held.step, notAfter: held.notAfter, validUntil: new Date(c.epochMs + held.notAfter).toISOString() };
        credential = `the mesh-signed certificate of ${claimed} stolen from ${held.from} (step ${held.step}), valid until ${formatSimTime(held.notAfter)}`;
        break;
      }
      case 'plaintext':
        rs.req = { ...rs.req, identity: { kind: 'none' } };
        credential = 'plaintext from its own process: no certificate';
        break;
      case 'spoofed-header':
        sentHeaders = { 'x-forwarded-client-cert': `URI=${claimed}`, 'x-spiffe-id': claimed };
        rs.req = { ...rs.req, headers: { ...rs.req.headers, ...sentHeaders } };
        credential = `identity headers naming ${claimed} (${Object.keys(sentHeaders).join(', ')})`;
        break;
      case 'spoofed-ip': {
        claimedIp = id ? (workloadsAs(c.mesh, id)[0]?.ip ?? null) : as;
        if (claimedIp === null) throw new Error(`no workload runs as ${claimed} (bindScenario should have refused the step)`);
        rs.req = { ...rs.req, headers: { ...rs.req.headers, 'x-forwarded-for': claimedIp } };
        credential = `X-Forwarded-For: ${claimedIp}${id ? ` (the address of a pod running as ${claimed})` : ''}`;
        break;
      }
    }
    c.world.send(rs, (o) => {
      const r = requestResult(c, p, rs, o, t);
      const d = o.decision;
      // the identity the request carried where the client's own TLS ended: a gateway that terminated it (ISTIO_MUTUAL)
      // and acted on it before sending the request on with its own identity, else the receiving sidecar's peer
      const presented = d.ownCertAccepted ? spiffeId(d.ownCertAccepted.principal) : d.peerPrincipal ? spiffeId(d.peerPrincipal) : null;
      const out: StepResult = { ...r, as: claimed, presented, using };
      // the attacker's own process chose the transport, not a sidecar's tls setting
      const sent = r.evidence.sent;
      if (sent && (using === 'forged-cert' || using === 'stolen-cert' || using === 'plaintext')) sent.tls = using === 'plaintext' ? 'plaintext' : 'mtls';
      const imp: Omit<NonNullable<StepResult['evidence']['impersonation']>, 'statement'> & { statement?: string } = { credential };
      if (certificate) imp.certificate = certificate;
      if (using === 'forged-cert' || using === 'stolen-cert') {
        if (r.outcome === 'allowed' && presented !== claimed) {
          out.outcome = 'blocked';
          out.stoppedBy = [{ control: 'Routing', name: r.evidence.destination?.workload ?? null,
            reason: `the request got through, but the receiving proxy saw ${presented ?? 'no peer identity'}, not ${claimed}: the certificate was never asked for or checked on this path` }];
        }
        imp.statement = out.outcome === 'allowed'
          ? `the server acted on the request as ${claimed}${using === 'stolen-cert' ? ': a stolen certificate is the identity until its notAfter' : ''}`
          : `not accepted as ${claimed}: refused by ${stopName(out)}`;
      } else if (using === 'spoofed-header') {
        const received = r.evidence.received?.headers;
        imp.identityHeaders = Object.entries(sentHeaders).map(([name, sent]) => ({ name, sent, received: received ? (received[name] ?? null) : null }));
        imp.decidingRule = decidingRule(c.mesh, d);
        const reads = imp.decidingRule?.readsHeaders.filter((h) => (SPOOFED_IDENTITY_HEADERS as readonly string[]).includes(h)) ?? [];
        imp.statement = `the principal is ${presented ?? 'empty (no mutual TLS)'}: identity headers never set it`
          + (reads.length > 0 ? `; but ${imp.decidingRule?.rule ?? ''} ${out.outcome === 'allowed' ? 'let it in' : 'decided'} on request.headers[${reads.join('], request.headers[')}], which the attacker wrote` : '')
          + (out.outcome === 'allowed' ? '' : `; refused by ${stopName(out)}`);
      } else if (using === 'spoofed-ip') {
        const seen = d.addresses ?? [];
        imp.addresses = { claimed: claimedIp as string, seen: seen.map((x) => ({ ...x })) };
        imp.decidingRule = decidingRule(c.mesh, d);
        imp.statement = seen.length === 0
          ? 'no proxy read the addresses: nothing on this path matches ipBlocks or remoteIpBlocks'
          : seen.map((x) => `${x.proxy} took remote.ip (remoteIpBlocks) ${x.remoteIp}${x.remoteIp === claimedIp ? ' (the claimed address: it trusts that X-Forwarded-For entry)' : ''} and source.ip (ipBlocks) ${x.sourceIp} (the peer)`).join('; ');
      } else {
        imp.statement = out.outcome === 'allowed'
          ? `plaintext got through with no identity (principal ${presented ?? 'empty'}): principal-based rules cannot match it`
          : `plaintext refused by ${stopName(out)}`;
      }
      const { statement, ...rest } = imp;
      out.evidence = { ...out.evidence, impersonation: { ...rest, statement: statement ?? '' } };
      c.finish(p, out);
    });
  },
};

function stopName(r: StepResult): string {
  const s = r.stoppedBy[0];
  return s ? `${s.control}${s.name ? ` ${s.name}` : ''}` : 'nothing named';
}

/** The authorization rule that decided a request (`ns[x]-policy[y]-rule[i]`) and the request headers it reads. */
function decidingRule(mesh: Mesh, d: Decision): { rule: string; action: string; readsHeaders: string[] } | null {
  const by = d.authz?.decidedBy;
  if (!by) return null;
  const policy = mesh.authorizationPolicies.find((x: AuthorizationPolicy) => x.meta.namespace === by.namespace && x.meta.name === by.policy);
  const at = by.rule.lastIndexOf('-rule[');
  const index = at < 0 ? -1 : Number(by.rule.slice(at + '-rule['.length, -1));
  const rule = Number.isInteger(index) && index >= 0 ? policy?.rules?.[index] : undefined;
  const reads = new Set<string>();
  for (const cond of rule?.when ?? []) {
    const name = whenHeaderName(cond.key);
    if (name !== null) reads.add(name.toLowerCase());
  }
  return { rule: by.rule, action: by.action, readsHeaders: [...reads].sort() };
}
