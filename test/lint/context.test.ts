/** The lint rules' view of a workload's inbound ports agrees with decide(): a headless Service's calls reach the pod at the service port. */
import { describe, expect, it } from 'vitest';
import { inboundPorts } from '../../src/lint/context.js';
import { meshFrom, ns, wl } from '../helpers.js';

describe('lint context: inboundPorts', () => {
  it('a Service\'s targetPort, but a headless Service\'s own port (no translation: the pod is dialled at it)', () => {
    const m = meshFrom(ns('a', true), `apiVersion: apps/v1
kind: Deployment
metadata: { name: db, namespace: a }
spec:
  template:
    metadata: { labels: { app: db } }
    spec: { serviceAccountName: db, containers: [{ name: db }] }
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: a }
spec: { selector: { app: db }, ports: [{ name: tcp-db, port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: db-hl, namespace: a }
spec: { clusterIP: None, selector: { app: db }, ports: [{ name: tcp-db, port: 5432, targetPort: 6432 }] }
`);
    expect(inboundPorts(m, wl(m, 'a/db'))).toEqual([5432, 8080]);
  });
});
