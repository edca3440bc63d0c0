/**
 * What `istioctl install` (the default profile) adds to a cluster that a mesh's
 * own manifests then take for granted: the ingress gateway,
 * istio-system/istio-ingressgateway — a Deployment labelled
 * `istio: ingressgateway` (a gateway proxy: an Envoy itself, no sidecar) and
 * its LoadBalancer Service on 80 → 8080, 443 → 8443 and 15021 (status). With
 * it, Istio's samples (bookinfo's `bookinfo-gateway.yaml`, whose Gateway
 * selects `istio: ingressgateway`) load without a hand-made gateway.
 */
import type { SourceFile } from './load.js';

/** The file name the built-in objects are located in (messages name it). */
export const INGRESS_GATEWAY_FILE = '<istioctl install: ingress gateway>';

const TEXT = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: istio-ingressgateway-service-account
  namespace: istio-system
  labels: { app: istio-ingressgateway, istio: ingressgateway }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels: { app: istio-ingressgateway, istio: ingressgateway }
spec:
  selector:
    matchLabels: { app: istio-ingressgateway, istio: ingressgateway }
  template:
    metadata:
      labels: { app: istio-ingressgateway, istio: ingressgateway, sidecar.istio.io/inject: "false" }
    spec:
      serviceAccountName: istio-ingressgateway-service-account
      containers:
        - name: istio-proxy
          image: docker.io/istio/proxyv2
          ports:
            - { name: http2, containerPort: 8080, protocol: TCP }
            - { name: https, containerPort: 8443, protocol: TCP }
            - { name: http-envoy-prom, containerPort: 15090, protocol: TCP }
            - { name: status-port, containerPort: 15021, protocol: TCP }
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels: { app: istio-ingressgateway, istio: ingressgateway }
spec:
  type: LoadBalancer
  selector: { app: istio-ingressgateway, istio: ingressgateway }
  ports:
    - { name: status-port, port: 15021, targetPort: 15021, protocol: TCP }
    - { name: http2, port: 80, targetPort: 8080, protocol: TCP }
    - { name: https, port: 443, targetPort: 8443, protocol: TCP }
`;

export function ingressGatewayFile(): SourceFile {
  return { path: INGRESS_GATEWAY_FILE, text: TEXT };
}
