/**
 * The scenario file format (product.md §2) as a zod schema: the contract.
 * `npx meshrange schema` prints it as JSON Schema for editors and CI.
 */
import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration, parseRate } from '../core/duration.js';
import { expectSchema } from './expect.js';

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
  iss: z.string().describe('issuer (the RequestAuthentication jwtRules issuer that validates it)').optional(),
  sub: z.string().describe('subject').optional(),
  aud: z.union([z.string(), z.array(z.string())]).describe('audience(s)').optional(),
  claims: z.record(z.string(), z.unknown()).describe('further claims, e.g. {groups: [admin]}').optional(),
  expiresIn: duration.describe('lifetime from issue, e.g. 1h; negative (-5s) for an expired token').optional(),
  issuedAt: duration.describe('when it was signed, relative to simulated t=0 (default: t=0, or the step\'s time for an inline jwt)').optional(),
  signer: z.enum(['trusted', 'untrusted']).describe('trusted (default): a key of the JWKS the validating RequestAuthentication uses; untrusted: a key it does not know').optional(),
}).describe('a claim set meshrange signs itself');

export const stepSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][-_.A-Za-z0-9]*$/, { message: 'must be letters, digits, -, _ or .' }).describe('unique in the scenario: letters, digits, -, _ or .'),
  action: z.enum(ACTIONS).describe('what the attacker tries: request, impersonate, pivot, sniff, exfiltrate, flood, steal-credentials, wait'),
  description: z.string().describe('shown in reports').optional(),
  from: workloadRef.describe('act from this workload (namespace/name or outside) instead of the foothold; such a step checks legitimate traffic and does not count towards the verdict').optional(),
  at: instant.describe('simulated time the step starts (default: when the previous one ends)').optional(),
  expect: expectSchema.optional(),
  to: destination.describe('host:port (in-cluster DNS from the sender\'s namespace, a ServiceEntry host, or an external name; the Service port), or workload/<ns>/<name>:<port> to dial a pod directly').optional(),
  protocol: z.enum(['http', 'http2', 'grpc', 'tcp', 'tls']).describe('http (default), http2, grpc, tcp, or tls (the app speaks TLS itself, with sni)').optional(),
  method: z.string().min(1).describe('HTTP method, default GET').optional(),
  path: z.string().startsWith('/', { message: 'must start with /' }).max(MAX_PATH_LENGTH).describe('HTTP path (with any query string), default /').optional(),
  headers: z.record(z.string(), z.string()).describe('request headers, sent as given').optional(),
  token: z.string().describe('a compact JWT sent as authorization: Bearer <token>, verified with real signature checks').optional(),
  jwt: z.union([z.string(), jwtClaimsSchema]).describe('a token of spec.tokens by name, `stolen` (the last token the attacker took), or an inline claim set signed at the step\'s time').optional(),
  tls: z.enum(['auto', 'plaintext', 'mtls']).describe('auto (default); plaintext from a workload whose sidecar captures it is an attempt to go around the sidecar; mtls forces Istio mTLS').optional(),
  sni: z.string().describe('SNI of a TLS connection').optional(),
  sourceIp: z.string().describe('source address of an outside client (default 203.0.113.10)').optional(),
  as: z.string().describe('impersonate: the identity claimed, a SPIFFE id or ns/serviceaccount').optional(),
  using: z.enum(['forged-cert', 'stolen-cert', 'spoofed-header', 'spoofed-ip', 'plaintext']).describe('impersonate: how the attacker claims the identity').optional(),
  depth: z.number().int().min(1).max(16).describe('pivot: hops to explore (default 3)').optional(),
  exploit: z.union([z.literal('all'), z.array(workloadRef).max(1000)]).describe('pivot: which reached workloads the attacker can take over: a list, or all (default: those marked exploitable in spec.workloads)').optional(),
  targets: z.array(workloadRef).min(1, { message: 'list at least one workload, or leave targets out' }).max(1000).describe('pivot: crown jewels; allowed when all are reached, partial when some').optional(),
  ports: z.array(z.number().int().min(1).max(65535)).min(1, { message: 'list at least one port, or leave ports out to try every port' }).max(64).describe('pivot: ports to try (default: every declared port)').optional(),
  paths: z.array(z.string().startsWith('/', { message: 'must start with /' })).min(1, { message: 'list at least one path, or leave paths out for /' }).max(32).describe('pivot: paths to try (default /)').optional(),
  on: z.string().max(600).describe('sniff: the observation point — `any`, `node:<namespace>/<workload>` (every hop to or from that pod), or `link:<namespace>/<a>,<namespace>/<b>` (the hops between two workloads, either way; one end may be `outside`)').optional(),
  window: span.describe('sniff: how long the observer watches (the step lasts this long), more than 0 and at most 24h').optional(),
  bytes: z.number().int().min(1, { message: 'must be at least 1 byte' }).max(2 ** 30, { message: 'must be at most 1073741824 bytes (1 GiB)' })
    .describe('exfiltrate: how many bytes the attacker uploads, in chunks of at most 64 KiB').optional(),
  via: z.string().max(300).describe('exfiltrate: `direct` (default), `egress-gateway` (or `egress-gateway:<port>`: the gateway Service port to dial), or an allowed host used as a channel out (`<host>` or `<host>:<port>`: a ServiceEntry host or an in-mesh Service)').optional(),
  rate: rate.describe('flood, exfiltrate: requests per second or minute, e.g. 200/s').optional(),
  for: span.describe('flood: how long it lasts; wait: how long simulated time advances').optional(),
  what: z.enum(['cert', 'jwt']).describe('steal-credentials: the workload certificate or a bearer token').optional(),
  bypass: z.boolean().describe('try to leave around the foothold\'s own sidecar (works without a sidecar, for excluded destinations, or with the proxy-uid, root or net-admin capability)').optional(),
});

export const workloadFactsSchema = z.strictObject({
  serviceTime: span.describe('mean of an exponential service time, default 1ms').optional(),
  concurrency: z.number().int().min(1).max(1_000_000).describe('requests served at once, default 64').optional(),
  queue: z.number().int().min(0).max(10_000_000).describe('requests waiting before 503, default 1000').optional(),
  exploitable: z.boolean().describe('a pivot may take this workload over').optional(),
  ip: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, { message: 'must be an IPv4 address' }).describe('pin the pod IP (otherwise assigned deterministically)').optional(),
  sensitive: z.boolean().describe('a sniff that reads this workload\'s traffic in clear reports it as sensitive').optional(),
}).describe('simulation-only facts about one workload');

export const scenarioSchema = z.strictObject({
  apiVersion: z.literal('meshrange.io/v1alpha1').describe('always meshrange.io/v1alpha1'),
  kind: z.literal('Scenario').describe('always Scenario'),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a DNS-1123 label (lower case, digits, -)' }).describe('the scenario\'s name in reports, unique in a suite'),
    description: z.string().describe('shown in the text, Markdown and HTML reports').optional(),
    tags: z.array(z.string()).describe('free-form labels').optional(),
  }).describe('the scenario\'s name and description'),
  spec: z.strictObject({
    mesh: z.strictObject({
      manifests: z.array(z.union([
        z.string().min(1).describe('a manifest file, or a folder (every *.yaml / *.yml below it, sorted), relative to the scenario'),
        z.strictObject({
          path: z.string().min(1).describe('a manifest file or folder, relative to the scenario'),
          namespace: z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be a namespace name (a DNS-1123 label: lower case, digits, -)' })
            .describe('objects without metadata.namespace take this namespace, as with kubectl apply -n; one naming another namespace is an error'),
        }).describe('manifests written for kubectl apply -n <namespace>'),
      ])).min(1, { message: 'list at least one manifest file or directory' }).describe('the Kubernetes + Istio manifests of the mesh: files and folders'),
      meshConfig: z.record(z.string(), z.unknown()).describe('overrides fields of the istio ConfigMap\'s mesh key, e.g. {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}').optional(),
      jwks: z.record(z.string(), z.string()).describe('offline stand-ins for a jwksUri: URI -> a JWKS file relative to the scenario').optional(),
      istio: z.strictObject({
        ingressGateway: z.boolean().describe('add istio-system/istio-ingressgateway (Deployment + Service, labels istio: ingressgateway, ports 80/443/15021) as istioctl install does').optional(),
      }).describe('what istioctl install adds to the cluster').optional(),
    }).describe('the mesh the scenario runs on'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).describe('default 1: same scenario and seed, same report, byte for byte').optional(),
    startTime: z.iso.datetime({ offset: true }).describe('the wall-clock instant of simulated t=0, default 2026-01-01T00:00:00Z').optional(),
    duration: span.describe('simulated-time limit (default: long enough for every step)').optional(),
    workloads: z.record(workloadRef, workloadFactsSchema).describe('simulation-only facts by workload (namespace/name)').optional(),
    ca: z.strictObject({
      outage: z.strictObject({ at: instant.describe('simulated time it starts'), for: span.describe('how long it lasts') }).describe('one period when the CA cannot sign').optional(),
      outages: z.array(z.strictObject({ at: instant.describe('simulated time it starts'), for: span.describe('how long it lasts') })).max(1000).describe('periods when the CA cannot sign').optional(),
      workloadCertTtl: span.describe('workload certificate lifetime, default 24h').optional(),
    }).describe('the mesh CA (istiod)').optional(),
    proxyOverhead: instant.describe('latency each sidecar adds to a hop, default 0.625ms').optional(),
    tokens: z.record(z.string(), jwtClaimsSchema).describe('named JWTs that steps send with jwt: <name>').optional(),
    extAuthz: z.record(z.string(), z.strictObject({
      allowIf: z.strictObject({ header: z.string().describe('request header name'), equals: z.string().describe('the value that allows') }).describe('allow when this request header has this value (otherwise deny)').optional(),
      deniedStatus: z.number().int().min(100).max(599).describe('status of a denied request, default 403').optional(),
    })).describe('stand-ins for CUSTOM authorization providers named in the mesh config').optional(),
    traffic: z.array(z.strictObject({
      from: workloadRef.describe('the client workload (namespace/name) or outside'),
      to: destination.describe('host:port or workload/<ns>/<name>:<port>'),
      method: z.string().describe('HTTP method, default GET').optional(),
      path: z.string().max(MAX_PATH_LENGTH).describe('HTTP path, default /').optional(),
      headers: z.record(z.string(), z.string()).describe('request headers').optional(),
      protocol: z.enum(['http', 'http2', 'grpc', 'tcp']).describe('http (default), http2, grpc or tcp').optional(),
      rate: rate.describe('N/s or N/m'),
    }).describe('a legitimate flow')).describe('legitimate load that runs during the attack and must keep working').optional(),
    attacker: z.strictObject({
      foothold: workloadRef.describe('the workload the attacker controls (namespace/name), or outside'),
      capabilities: z.array(z.enum(['root', 'net-admin', 'proxy-uid'])).describe('what the attacker\'s process may do: root, net-admin (rewrite the capture), proxy-uid (UID 1337, which the capture skips)').optional(),
    }).describe('who attacks, and from where'),
    steps: z.array(stepSchema).min(1, { message: 'a scenario needs at least one step' }).describe('what the attacker tries, in order'),
  }).describe('the mesh, the attacker and the steps'),
});

export type ScenarioDoc = z.infer<typeof scenarioSchema>;
export type StepDoc = z.infer<typeof stepSchema>;

export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' });
}
