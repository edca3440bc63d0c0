/**
 * §8 a Sidecar and the VirtualServices of its proxy (Istio SelectVirtualServices, collectImportedServices): a
 * sidecar routes only by the VirtualServices its egress hosts import (a host of the VirtualService within an egress
 * host whose namespace part is the VirtualService's, `*`, or `.` for its own), and the destinations of those come
 * with them, even when the egress hosts leave them out.
 */
import { describe, expect, it } from 'vitest';
import { app, meshFrom, ns, send } from '../helpers.js';

const base = [ns('istio-system', false), ns('shop', true), ns('backend', true), ns('other', true), app('shop', 'web'), app('backend', 'reviews'), app('backend', 'ratings')];
const sidecar = (hosts: string): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec:
  egress: [{ hosts: [${hosts}] }]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;
const toRatings = (namespace: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reroute, namespace: ${namespace} }
spec:
  hosts: [reviews.backend.svc.cluster.local]
  http: [{ route: [{ destination: { host: ratings.backend.svc.cluster.local } }] }]
`;

describe('§8 a Sidecar imports VirtualServices and their destinations', () => {
  it('a VirtualService of a namespace the egress hosts do not import does not route the sidecar: the request goes to the service dialled', () => {
    const m = meshFrom(...base, sidecar('"./*", "backend/*"'), toRatings('other'));
    const d = send(m, { from: 'shop/web', to: 'reviews.backend.svc.cluster.local:80' });
    expect(d.destination?.workload).toBe('backend/reviews');
    // imported through "*/…": it routes
    const star = meshFrom(...base, sidecar('"./*", "backend/*", "*/reviews.backend.svc.cluster.local"'), toRatings('other'));
    expect(send(star, { from: 'shop/web', to: 'reviews.backend.svc.cluster.local:80' }).destination?.workload).toBe('backend/ratings');
  });

  it('the destination of an imported VirtualService is known to the sidecar even when its egress hosts leave it out', () => {
    const m = meshFrom(...base, sidecar('"./*", "backend/reviews.backend.svc.cluster.local"'), toRatings('shop'));
    const d = send(m, { from: 'shop/web', to: 'reviews.backend.svc.cluster.local:80' });
    expect(d.outcome).toBe('allowed');
    expect(d.destination?.workload).toBe('backend/ratings');
    // dialled directly, ratings is still outside the egress hosts: REGISTRY_ONLY blocks it
    expect(send(m, { from: 'shop/web', to: 'ratings.backend.svc.cluster.local:80' }).code).toBe(502);
  });

  it('a VirtualService host matches an egress host either way (Istio VSMatches): a VirtualService for *.backend.svc.cluster.local is imported by "backend/reviews.backend.svc.cluster.local"', () => {
    const wide = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: wide, namespace: backend }
spec:
  hosts: ["*.backend.svc.cluster.local"]
  http: [{ route: [{ destination: { host: ratings.backend.svc.cluster.local } }] }]
`;
    const m = meshFrom(...base, sidecar('"./*", "backend/reviews.backend.svc.cluster.local"'), wide);
    expect(send(m, { from: 'shop/web', to: 'reviews.backend.svc.cluster.local:80' }).destination?.workload).toBe('backend/ratings');
  });
});
