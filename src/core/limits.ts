/**
 * A bound met while simulating: the input asks for more work than meshrange
 * will do (an event budget, a regex rewrite too costly to run). It is bad
 * input, not a bug: the CLI reports it as an error (exit 2) with its place when
 * it has one, never as an internal error with a stack trace.
 */
import type { Location } from './issues.js';

export class SimulationLimitError extends Error {
  constructor(message: string, readonly loc: Location | undefined, readonly hint: string) {
    super(message);
  }
}
