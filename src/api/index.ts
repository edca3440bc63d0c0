/** The application layer: what the CLI, the TUI, tests, the bench and library users call. */
export { prepareLoaded, prepareScenario, readManifests, type PreparedScenario } from './prepare.js';
export { prepareAll, runFiles, runPrepared, type RunFilesOptions, type RunFilesResult, type RunProgress } from './run.js';
export type { SourceReader } from './source.js';
