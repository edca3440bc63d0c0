/**
 * The scenario file format (product.md §2) as a zod schema: the contract.
 * `npx meshrange schema` prints it as JSON Schema for editors and CI.
 */
import { z } from 'zod';
import { parseDuration, parseRate } from '../core/duration.js';

const duration = z.string().refine((s) => parseDuration(s) !== null, { message: 'must be a duration like 500ms, 30s, 5m or 24h' });
const rate = z.string().refine((s) => parseRate(s) !== null, { message: 'must be a rate like 20/s or 600/m' });
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
  at: duration.optional(),
  expect: z.enum(['allowed', 'blocked', 'partial']).optional(),
  to: destination.optional(),
  protocol: z.enum(['http', 'http2', 'grpc', 'tcp', 'tls']).optional(),
  method: z.string().min(1).optional(),
  path: z.string().startsWith('/', { message: 'must start with /' }).optional(),
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
  on: z.string().optional(),
  window: duration.optional(),
  bytes: z.number().int().min(0).optional(),
  via: z.string().optional(),
  rate: rate.optional(),
  for: duration.optional(),
  what: z.enum(['cert', 'jwt']).optional(),
  bypass: z.boolean().optional(),
});

export const workloadFactsSchema = z.strictObject({
  serviceTime: duration.optional(),
  concurrency: z.number().int().min(1).optional(),
  queue: z.number().int().min(0).optional(),
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
      manifests: z.array(z.string().min(1)).min(1, { message: 'list at least one manifest file or directory' }),
      meshConfig: z.record(z.string(), z.unknown()).optional(),
      jwks: z.record(z.string(), z.string()).optional(),
    }),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    startTime: z.iso.datetime({ offset: true }).optional(),
    duration: duration.optional(),
    workloads: z.record(workloadRef, workloadFactsSchema).optional(),
    ca: z.strictObject({
      outage: z.strictObject({ at: duration, for: duration }).optional(),
      outages: z.array(z.strictObject({ at: duration, for: duration })).optional(),
      workloadCertTtl: duration.optional(),
    }).optional(),
    proxyOverhead: duration.optional(),
    tokens: z.record(z.string(), jwtClaimsSchema).optional(),
    extAuthz: z.record(z.string(), z.strictObject({
      allowIf: z.strictObject({ header: z.string(), equals: z.string() }).optional(),
      deniedStatus: z.number().int().min(100).max(599).optional(),
    })).optional(),
    traffic: z.array(z.strictObject({
      from: workloadRef,
      to: destination,
      method: z.string().optional(),
      path: z.string().optional(),
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
