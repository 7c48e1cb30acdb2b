/**
 * `tessera-session/stores/file`: the file store (one JSON file per session; single process).
 * @module tessera-session/stores/file
 */
export type { FileStoreOptions } from './file-store.js';
export { createFileStore } from './file-store.js';
