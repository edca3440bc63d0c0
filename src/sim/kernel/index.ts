/** The simulation kernel's public API (see the header of each file for its rules). */
export { EventHeap, type FutureEventSet } from './heap.js';
export { TieredEventHeap, type TieredEventHeapOptions } from './tiered-heap.js';
export {
  EventBudgetExceeded,
  Kernel,
  SimulationError,
  type Handler,
  type KernelOptions,
  type LogEntry,
  type LogValue,
  type Stream,
} from './kernel.js';
export { simClock, type SimClock } from './xstate-clock.js';
