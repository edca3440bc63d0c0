/** The library's door checks in tests: `f` throws MeshrangeError bad-argument with a message and a hint. */
import { expect } from 'vitest';
import { MeshrangeError } from '../../src/index.js';

/** `f` is refused with bad-argument: the message matches `about`, the hint `hint` (default: any non-empty hint). */
export async function refused(f: () => unknown, about: string | RegExp, hint: RegExp = /./): Promise<void> {
  let thrown: unknown;
  try { await f(); } catch (e) { thrown = e; }
  expect(thrown, String(f)).toBeInstanceOf(MeshrangeError);
  const issue = (thrown as MeshrangeError).issues[0];
  expect(issue?.code).toBe('bad-argument');
  expect(issue?.message).toMatch(about);
  expect(issue?.hint ?? '').toMatch(hint);
}
