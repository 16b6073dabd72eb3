// The one error type of the project. Every layer throws SnapError with a stable code; only cli/
// turns it into a one-line message and an exit code.

export type ErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'ROOT_MISSING'
  | 'REPO_INVALID'
  | 'REPO_LOCKED'
  | 'REPO_CORRUPT'
  | 'POINT_NOT_FOUND'
  | 'IO'
  | 'DISK_FULL'
  | 'ABORTED'
  | 'INTERRUPTED';

export interface SnapErrorDetails {
  path?: string;
  cause?: unknown;
}

export class SnapError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, details: SnapErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SnapError';
    this.code = code;
    this.path = details.path;
  }
}

/** Bad usage or configuration: the command was asked something wrong, nothing was tried. */
const USAGE_CODES = new Set<ErrorCode>(['USAGE', 'CONFIG', 'ROOT_MISSING', 'REPO_INVALID', 'POINT_NOT_FOUND']);

/** Exit codes of the contract: 1 failed/aborted, 2 bad usage or configuration, 130 SIGINT. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof SnapError) {
    if (USAGE_CODES.has(err.code)) return 2;
    if (err.code === 'INTERRUPTED') return 130;
  }
  return 1;
}

/** Node's system errors carry `code` (ENOENT...). */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
