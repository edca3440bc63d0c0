/**
 * `exportTo` as Istio's validation takes it (pkg/config/validation validateExportTo), one copy for the three kinds
 * that have it (architecture.md: one copy of each helper): each entry `.`, `*` or a namespace name — `~` (no one) for
 * a ServiceEntry only —, none twice (`.` is the resource's own namespace), `*` alone, `~` alone; and a
 * DestinationRule with a workloadSelector exported to its own namespace only (one entry, `.` or the namespace).
 * The API server refuses the rest; the lookups rely on it (a DestinationRule is private when its one entry is `.`
 * or its namespace).
 */
import type { Reader } from './reader.js';
import { isDns1123Label } from './names.js';

const CODES = { DestinationRule: 'dr-bad-export-to', VirtualService: 'vs-bad-export-to', ServiceEntry: 'se-bad-export-to' } as const;

export function checkExportTo(r: Reader, exportTo: readonly string[], namespace: string, kind: keyof typeof CODES, withSelector = false): void {
  const code = CODES[kind];
  const noneAllowed = kind === 'ServiceEntry';
  const seen = new Set<string>();
  exportTo.forEach((e, i) => {
    const path = ['spec', 'exportTo', i];
    const key = e === '.' ? namespace : e;
    if (seen.has(key)) {
      r.error(path, code, key !== e ? `duplicate entries in exportTo: . and current namespace ${namespace}` : `duplicate entries in exportTo for entry ${e}`,
        'list each namespace once ("." is this namespace)');
      return;
    }
    seen.add(key);
    if (e === '~' && !noneAllowed) {
      r.error(path, code, 'exportTo ~ (no one) is allowed for a ServiceEntry only', 'use "." to keep it in its own namespace');
    } else if (e !== '*' && e !== '.' && e !== '~' && !isDns1123Label(e)) {
      r.error(path, code, `exportTo entry "${e}" is not ".", "*"${noneAllowed ? ', "~"' : ''} or a namespace name`,
        `use "." (own namespace), "*" (all)${noneAllowed ? ', "~" (none)' : ''} or namespace names`);
    }
  });
  if (seen.has('*') && exportTo.length > 1) {
    r.error(['spec', 'exportTo'], code, 'cannot have both public (*) and non-public exportTo values', 'use "*" alone, or list the namespaces');
  }
  if (noneAllowed && seen.has('~') && exportTo.length > 1) {
    r.error(['spec', 'exportTo'], code, 'cannot export a service entry to no one (~) and someone', 'use "~" alone, or list the namespaces');
  }
  if (withSelector && exportTo.length > 0) {
    if (!seen.has(namespace)) {
      r.error(['spec', 'exportTo'], code, 'a destination rule with a workload selector cannot be exported beyond its own namespace', 'remove exportTo, or set it to ["."]');
    } else if (seen.size > 1) {
      r.error(['spec', 'exportTo'], code, 'a destination rule with a workload selector cannot have several exportTo entries', 'remove exportTo, or set it to ["."]');
    }
  }
}
