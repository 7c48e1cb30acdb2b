/**
 * `tessera-session/csrf`: the Fetch-Metadata / Origin guard for state-changing requests and
 * synchronizer tokens for HTML forms.
 * @module tessera-session/csrf
 */

export type { CsrfGuard, CsrfGuardOptions, CsrfRequest, CsrfResult } from './guard.js';
export { createCsrfGuard } from './guard.js';
export { createCsrfToken, verifyCsrfToken } from './token.js';
