/**
 * Every lint rule, in code order. A rule is one file under rules/ named
 * `<code>-<name>.ts`; its code and name are stable (tests and docs pin them).
 */
import type { LintRule } from './types.js';
import { rule as MR0101 } from './rules/MR0101-permissive-with-sidecar-clients.js';
import { rule as MR0102 } from './rules/MR0102-selects-nothing.js';
import { rule as MR0103 } from './rules/MR0103-identity-rule-on-plaintext-port.js';
import { rule as MR0104 } from './rules/MR0104-header-identity.js';
import { rule as MR0105 } from './rules/MR0105-jwt-not-required.js';
import { rule as MR0106 } from './rules/MR0106-deny-path-bypass.js';
import { rule as MR0107 } from './rules/MR0107-missing-sidecar.js';
import { rule as MR0108 } from './rules/MR0108-capture-excludes-strict-port.js';
import { rule as MR0109 } from './rules/MR0109-wildcard-service-entry.js';
import { rule as MR0110 } from './rules/MR0110-legacy-rbac-kind.js';
import { rule as MR0119 } from './rules/MR0119-allow-any-caller.js';
import { rule as MR0120 } from './rules/MR0120-dr-merged-into-selector.js';
import { rule as MR0121 } from './rules/MR0121-service-host-shadowed.js';
import { rule as MR0122 } from './rules/MR0122-auto-passthrough-exposed.js';
import { rule as MR0123 } from './rules/MR0123-gateway-rewrite-skips-path-rule.js';
import { analyzerRules } from './rules/analyzer.js';

export const RULES: readonly LintRule[] = [MR0101, MR0102, MR0103, MR0104, MR0105, MR0106, MR0107, MR0108, MR0109, MR0110, ...analyzerRules, MR0119, MR0120, MR0121, MR0122, MR0123];

export function ruleByCode(code: string): LintRule | undefined {
  return RULES.find((r) => r.code === code);
}
