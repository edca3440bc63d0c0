/**
 * DestinationRule circuit breaking (istio-semantics §10): `connectionPool` and
 * `outlierDetection` as the client sidecar enforces them, with Istio's
 * defaults filled in. Read by loader/traffic-policy.ts from
 * `trafficPolicy.raw` (and subsets' / port level ones); used by
 * sim/mesh/circuit-breaker.ts.
 */

/** 2^32 − 1: Istio's default for every circuit breaker threshold ("unlimited"). */
export const UNLIMITED = 4_294_967_295;

export type H2UpgradePolicy = 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';

export interface ConnectionPool {
  /** tcp.maxConnections: connections to all hosts of the cluster (0 or unset = 2^32−1) */
  maxConnections: number;
  /** tcp.connectTimeout (default 10 s, the mesh connectTimeout) */
  connectTimeoutMs: number;
  /** http.http1MaxPendingRequests: requests queued while waiting for a connection (0 or unset = 2^32−1) */
  http1MaxPendingRequests: number;
  /** http.http2MaxRequests: active requests to the cluster, HTTP/1.1 and HTTP/2 alike (0 or unset = 2^32−1) */
  http2MaxRequests: number;
  /** http.maxRequestsPerConnection: 0 = unlimited; 1 = no keep-alive */
  maxRequestsPerConnection: number;
  /** http.maxRetries: concurrent retries to the cluster (0 or unset = 2^32−1) */
  maxRetries: number;
  /** http.h2UpgradePolicy (DEFAULT follows the mesh setting) */
  h2UpgradePolicy: H2UpgradePolicy;
}

export const DEFAULT_CONNECTION_POOL: Readonly<ConnectionPool> = {
  maxConnections: UNLIMITED,
  connectTimeoutMs: 10_000,
  http1MaxPendingRequests: UNLIMITED,
  http2MaxRequests: UNLIMITED,
  maxRequestsPerConnection: 0,
  maxRetries: UNLIMITED,
  h2UpgradePolicy: 'DEFAULT',
};

export interface OutlierDetection {
  /** consecutive 5xx (any 500-599, and connect failures) before ejection; default 5; 0 disables */
  consecutive5xxErrors: number;
  /** consecutive 502/503/504 before ejection; 0 (the default) = disabled */
  consecutiveGatewayErrors: number;
  /** ejection sweep interval: un-ejection happens on these ticks (default 10 s) */
  intervalMs: number;
  /** base ejection time; actual = base × times ejected (default 30 s) */
  baseEjectionTimeMs: number;
  /** most hosts that may be ejected, in percent (default 10; an explicit 0 also means 10 in Istio) */
  maxEjectionPercent: number;
  /** Envoy's panic threshold: below this % of healthy hosts every host is used; 0 (default) = never */
  minHealthPercent: number;
}

export const DEFAULT_OUTLIER_DETECTION: Readonly<OutlierDetection> = {
  consecutive5xxErrors: 5,
  consecutiveGatewayErrors: 0,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
  minHealthPercent: 0,
};
