/**
 * DNS name checks, one copy for every loader (architecture.md: keep one copy
 * of each helper). They follow Istio's validation (pkg/config/validation
 * agent: ValidateFQDN, ValidateWildcardDomain, IsDNS1123Label) and say what
 * Istio's webhook says, so a message reads the same whichever resource it is
 * about (Gateway, VirtualService, ServiceEntry, Sidecar, NetworkPolicy).
 * Every regular expression is anchored, with no nested repetition: linear.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

/** A DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending alphanumeric. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** Kubernetes IsDNS1123Subdomain: at most 253 characters of dot-separated alphanumeric-and-'-' labels. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((label) => DNS1123_LABEL.test(label));
}

function isWildcardDns1123Label(s: string): boolean {
  return s.length <= 63 && WILDCARD_LABEL.test(s);
}

function preconditionsProblem(name: string): string | null {
  if (name.length > 255) return `domain name "${name}" too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return null;
}

function labelsProblem(domain: string): string | null {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^[0-9]+$/.test(tld)) return `domain name "${domain}" invalid (top level domain "${tld}" cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    if (i === parts.length - 1 && label === '') return null; // a trailing dot: `istio.io.`
    if (!isDns1123Label(label)) return `domain name "${domain}" invalid (label "${label}" invalid)`;
  }
  return null;
}

/** ValidateFQDN: what is wrong with a fully qualified domain name, or null. */
export function fqdnProblem(fqdn: string): string | null {
  return preconditionsProblem(fqdn) ?? labelsProblem(fqdn);
}

/** ValidateWildcardDomain: a DNS name whose first label may be a wildcard (`*`, `*.example.com`). */
export function wildcardDomainProblem(domain: string): string | null {
  const pre = preconditionsProblem(domain);
  if (pre) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDns1123Label(first)) return `domain name "${domain}" invalid (label "${first}" invalid)`;
  return dot < 0 ? null : labelsProblem(domain.slice(dot + 1));
}

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes IsDNS1035Label (a Service's name): at most 63 lower-case letters, digits and '-', starting with a letter. */
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && DNS1035_LABEL.test(s);
}

/** What a namespace's name must be, as messages say it. */
export const DNS1123_LABEL_FORM = 'must be a DNS-1123 label: at most 63 lower-case letters, digits and \'-\', starting and ending with a letter or digit';

/**
 * What is wrong with an object's metadata.name, as the API server would say it, or null. `modelled`: meshrange
 * reads the object (its name becomes a workload, a principal or a host); the rest (a Role's `system:aggregate-to-admin`)
 * is held only to Kubernetes' path-segment rule: no `/` or `%`, not `.` or `..`.
 */
export function objectNameProblem(kind: string, name: string, modelled: boolean): string | null {
  if (!modelled) {
    return name === '.' || name === '..' || name.includes('/') || name.includes('%') ? 'may not be "." or "..", or hold "/" or "%"' : null;
  }
  // Kubernetes holds a Namespace's name to a DNS-1123 label, a Service's to a DNS-1035 label, a StatefulSet's to a
  // DNS-1123 label (since 1.26: its pods' hostname is made from it; a dotted one never ran), the others to a subdomain
  if (kind === 'Namespace' || kind === 'StatefulSet') return isDns1123Label(name) ? null : DNS1123_LABEL_FORM;
  if (kind === 'Service') return isDns1035Label(name) ? null : 'must be a DNS-1035 label: at most 63 lower-case letters, digits and \'-\', starting with a letter and ending with a letter or digit';
  return isDns1123Subdomain(name) ? null : 'must be a DNS-1123 subdomain: at most 253 lower-case letters, digits, \'-\' and \'.\', each dot-separated part starting and ending with a letter or digit';
}

/** A user-given name as a message quotes it: JSON-quoted, the first 80 characters of a long one. */
export function quotedName(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/**
 * Kubernetes IsValidPortName (IANA_SVC_NAME: a container port's name, a named targetPort or NetworkPolicy port):
 * what is wrong with it, or undefined when valid. A quoted number such as "80" has no letter and fails.
 */
export function portNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return 'must be 1 to 15 characters';
  if (!/^[-a-z0-9]+$/.test(name)) return 'must contain only lower-case letters, digits and hyphens';
  if (name.includes('--')) return 'must not contain consecutive hyphens';
  if (!/[a-z]/.test(name)) return 'must contain at least one letter (a-z)';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}
