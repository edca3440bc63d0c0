/**
 * Kubernetes label and annotation syntax (apimachinery validation:
 * IsQualifiedName, IsValidLabelValue), the one copy every loader uses. The API
 * server refuses an object whose labels, selector or annotation keys break
 * it, so the loader refuses them too, located; and since a key that is not a
 * qualified name never reaches a mesh, `__proto__` can never be a label key.
 */
import { isDns1123Subdomain } from './names.js';

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain ≤253, name ≤63. Lengths are checked before any regex runs. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'may contain at most one /';
  const name = parts.length === 2 ? parts[1] ?? '' : key;
  const prefix = parts.length === 2 ? parts[0] ?? '' : undefined;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !isDns1123Subdomain(prefix))) {
    return 'has a prefix that is not a lower-case DNS subdomain';
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return 'is not a qualified name (at most 63 characters: letters, digits, - _ . , starting and ending with a letter or digit)';
  }
  return undefined;
}

/** IsValidLabelValue: empty, or ≤63 characters of the name alphabet. */
export function labelValueProblem(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63) return 'is longer than 63 characters';
  if (!NAME_PART.test(v)) return 'is not a valid label value';
  return undefined;
}

/** ValidateAnnotations: keys are qualified names (compared lower-cased); the values of one object total at most 256 KiB. */
export const MAX_ANNOTATION_BYTES = 256 * 1024;
