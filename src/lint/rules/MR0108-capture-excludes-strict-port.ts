/**
 * MR0108 capture-excludes-strict-port — a port STRICT is meant to cover that the sidecar never sees.
 *
 * Semantics (istio-semantics.md, and policy/capture.ts rules I0–I2):
 * - §3 client step 1 / §2: istio-init redirects inbound connections to the
 *   sidecar from the `traffic.sidecar.istio.io/*` annotations
 *   (excludeInboundPorts, includeInboundPorts) and
 *   `sidecar.istio.io/interceptionMode: NONE`; a connection that is not
 *   redirected reaches the app directly.
 * - §4: PeerAuthentication is enforced by the sidecar, so on a port that is
 *   not captured STRICT does nothing: plaintext from anyone is accepted, and
 *   no AuthorizationPolicy runs either.
 * Rule: a sidecar workload port whose effective mode is STRICT
 * (policy/peer-authentication.ts) and that inboundCapture
 * (policy/capture.ts) leaves uncaptured.
 */
import { inboundCapture } from '../../policy/capture.js';
import { inboundPorts, mtlsOf, workloadSubject } from '../context.js';
import type { LintRule, RawFinding } from '../types.js';

export const rule: LintRule = {
  code: 'MR0108',
  name: 'capture-excludes-strict-port',
  severity: 'error',
  title: 'A capture exclusion takes a STRICT port away from the sidecar',
  help: 'Traffic to a port excluded from capture (traffic.sidecar.istio.io/excludeInboundPorts, a includeInboundPorts list without it, '
    + 'or interceptionMode NONE) never meets the sidecar: STRICT mTLS, AuthorizationPolicy and RequestAuthentication do not apply there. '
    + 'Fix: remove the port from excludeInboundPorts (or add it to includeInboundPorts); if the port must stay outside the mesh, protect it with a NetworkPolicy.',
  check(mesh) {
    const out: RawFinding[] = [];
    for (const w of mesh.workloads) {
      if (!w.sidecar || w.gateway || w.capture === undefined) continue;
      const ports = new Set(inboundPorts(mesh, w));
      for (const p of w.capture.excludeInboundPorts) ports.add(p);
      for (const port of [...ports].sort((a, b) => a - b)) {
        const cap = inboundCapture(w, port);
        if (cap.captured) continue;
        const m = mtlsOf(mesh, w, port);
        if (m.mode !== 'STRICT') continue;
        const by = m.policy ? `PeerAuthentication ${m.policy.meta.namespace}/${m.policy.meta.name}` : 'the mesh';
        out.push({
          subject: workloadSubject(w),
          message: `${w.kind} ${w.id} port ${port} is STRICT (${by}, ${m.level} level) but not captured: ${cap.why}, so plaintext reaches the app and no policy runs`,
          hint: `remove port ${port} from the capture exclusion annotations; if it must bypass the sidecar, restrict it with a NetworkPolicy`,
        });
      }
    }
    return out;
  },
};
