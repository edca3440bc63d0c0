/**
 * The scenario file format (product.md §2) as a zod schema: the contract.
 * `npx meshrange schema` prints it as JSON Schema for editors and CI.
 */
import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration, parseRate } from '../core/duration.js';

/*
 * Every number is bounded before it is used (issue 9.2): a negative `for`
 * once cancelled another flood's estimate and defeated the volume guard; a
 * zero rate made an infinite interval; a rate far above the clock's
 * resolution at t = 100 d made arrivals that never advanced time.
 */
/** A duration that may be negative (a token's `expiresIn: -5s`), at most 366 days either way. */
const duration = z.string().refine((s) => parseDuration(s) !== null, { message: `must be a duration like 500ms, 30s, 5m or 24h, at most ${MAX_DURATION_MS / 86_400_000}d` });
/** A point in simulated time or an added delay: zero or more (an unreadable one is reported once, above). */
const instant = duration.refine((s) => (parseDuration(s) ?? 0) >= 0, { message: 'must not be negative' });
/** A length of time: at least a microsecond. */
export const MIN_SPAN_MS = 0.001;
const span = duration.refine((s) => (parseDuration(s) ?? MIN_SPAN_MS) >= MIN_SPAN_MS, { message: 'must be longer than 0 (at least 0.001ms)' });
/** Requests per second a flow or a flood may ask for: between one per ~17 minutes and a million a second. */
export const MIN_RATE_PER_S = 0.001;
export const MAX_RATE_PER_S = 1_000_000;
const rate = z.string()
  .refine((s) => parseRate(s) !== null, { message: 'must be a rate like 20/s or 600/m' })
  .refine((s) => { const r = parseRate(s); return r === null || (r >= MIN_RATE_PER_S && r <= MAX_RATE_PER_S); },
    { message: `must be between ${MIN_RATE_PER_S}/s and ${MAX_RATE_PER_S.toLocaleString('en-US')}/s` });
/** A request path: an RE2 rewrite costs up to the square of its length (core/re2.ts), so it is bounded. */
export const MAX_PATH_LENGTH = 2048;
const workloadRef = z.string().regex(/^(outside|[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/, {
  message: 'must be `namespace/name` (a Deployment, StatefulSet, DaemonSet or Pod) or `outside`',
});
const destination = z.string().regex(/^(workload\/[^/:\s]+\/[^/:\s]+|[^\s:/]+):\d{1,5}$/, {
  message: 'must be `host:port` (e.g. reviews:9080, api.backend:80) or `workload/<namespace>/<name>:<port>`',
});

export const ACTIONS = ['request', 'impersonate', 'pivot', 'sniff', 'exfiltrate', 'flood', 'steal-credentials', 'wait'] as const;

export const jwtClaimsSchema = z.strictObject({
  iss: z.string().optional(),
  sub: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  expiresIn: duration.optional(),
  issuedAt: duration.optional(),
  signer: z.enum(['trusted', 'untrusted']).optional(),
});

export const stepSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][-_.A-Za-z0-9]*$/, { message: 'must be letters, digits, -, _ or .' }),
  action: z.enum(ACTIONS),
  description: z.string().optional(),
  from: workloadRef.optional(),
  at: instant.optional(),
  expect: z.enum(['allowed', 'blocked', 'partial']).optional(),
  to: destination.optional(),
  protocol: z.enum(['http', 'http2', 'grpc', 'tcp', 'tls']).optional(),
  method: z.string().min(1).optional(),
  path: z.string().startsWith('/', { message: 'must start with /' }).max(MAX_PATH_LENGTH).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  token: z.string().optional(),
  jwt: z.union([z.string(), jwtClaimsSchema]).optional(),
  tls: z.enum(['auto', 'plaintext', 'mtls']).optional(),
  sni: z.string().optional(),
  sourceIp: z.string().optional(),
  as: z.string().optional(),
  using: z.enum(['forged-cert', 'stolen-cert', 'spoofed-header', 'spoofed-ip', 'plaintext']).optional(),
  depth: z.number().int().min(1).max(16).optional(),
  exploit: z.union([z.literal('all'), z.array(workloadRef).max(1000)]).optional(),
  targets: z.array(workloadRef).min(1, { message: 'list at least one workload, or leave targets out' }).max(1000).optional(),
  ports: z.array(z.number().int().min(1).max(65535)).min(1, { message: 'list at least one port, or leave ports out to try every port' }).max(64).optional(),
  paths: z.array(z.string().startsWith('/', { message: 'must start with /' })).min(1, { message: 'list at least one path, or leave paths out for /' }).max(32).optional(),
  on: z.string().max(600).describe('sniff: the observation point — `any`, `node:<namespace>/<workload>` (every hop to or from that pod), or `link:<namespace>/<a>,<namespace>/<b>` (the hops between two workloads, either way; one end may be `outside`)').optional(),
  window: span.describe('sniff: how long the observer watches (the step lasts this long), more than 0 and at most 24h').optional(),
  bytes: z.number().int().min(1, { message: 'must be at least 1 byte' }).max(2 ** 30, { message: 'must be at most 1073741824 bytes (1 GiB)' })
    .describe('exfiltrate: how many bytes the attacker uploads, in chunks of at most 64 KiB').optional(),
  via: z.string().max(300).describe('exfiltrate: `direct` (default), `egress-gateway` (or `egress-gateway:<port>`: the gateway Service port to dial), or an allowed host used as a channel out (`<host>` or `<host>:<port>`: a ServiceEntry host or an in-mesh Service)').optional(),
  rate: rate.optional(),
  for: span.optional(),
  what: z.enum(['cert', 'jwt']).optional(),
  bypass: z.boolean().optional(),
});

export const workloadFactsSchema = z.strictObject({
  serviceTime: span.optional(),
  concurrency: z.number().int().min(1).max(1_000_000).optional(),
  queue: z.number().int().min(0).max(10_000_000).optional(),
  exploitable: z.boolean().optional(),
  ip: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, { message: 'must be an IPv4 address' }).optional(),
  sensitive: z.boolean().optional(),
});

export const scenarioSchema = z.strictObject({
  apiVersion: z.literal('meshrange.io/v1alpha1'),
  kind: z.literal('Scenario'),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a DNS-1123 label (lower case, digits, -)' }),
    description: z.string().optional(),
    tags: z.array(z.string()).optional(),
  }),
  spec: z.strictObject({
    mesh: z.strictObject({
      manifests: z.array(z.union([
        z.string().min(1),
        z.strictObject({
          path: z.string().min(1),
          namespace: z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a namespace name (a DNS-1123 label: lower case, digits, -)' }),
        }),
      ])).min(1, { message: 'list at least one manifest file or directory' }),
      meshConfig: z.record(z.string(), z.unknown()).optional(),
      jwks: z.record(z.string(), z.string()).optional(),
      istio: z.strictObject({
        ingressGateway: z.boolean().optional(),
      }).optional(),
    }),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    startTime: z.iso.datetime({ offset: true }).optional(),
    duration: span.optional(),
    workloads: z.record(workloadRef, workloadFactsSchema).optional(),
    ca: z.strictObject({
      outage: z.strictObject({ at: instant, for: span }).optional(),
      outages: z.array(z.strictObject({ at: instant, for: span })).max(1000).optional(),
      workloadCertTtl: span.optional(),
    }).optional(),
    proxyOverhead: instant.optional(),
    tokens: z.record(z.string(), jwtClaimsSchema).optional(),
    extAuthz: z.record(z.string(), z.strictObject({
      allowIf: z.strictObject({ header: z.string(), equals: z.string() }).optional(),
      deniedStatus: z.number().int().min(100).max(599).optional(),
    })).optional(),
    traffic: z.array(z.strictObject({
      from: workloadRef,
      to: destination,
      method: z.string().optional(),
      path: z.string().max(MAX_PATH_LENGTH).optional(),
      headers: z.record(z.string(), z.string()).optional(),
      protocol: z.enum(['http', 'http2', 'grpc', 'tcp']).optional(),
      rate: rate,
    })).optional(),
    attacker: z.strictObject({
      foothold: workloadRef,
      capabilities: z.array(z.enum(['root', 'net-admin', 'proxy-uid'])).optional(),
    }),
    steps: z.array(stepSchema).min(1, { message: 'a scenario needs at least one step' }),
  }),
});

export type ScenarioDoc = z.infer<typeof scenarioSchema>;
export type StepDoc = z.infer<typeof stepSchema>;

export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' });
}
