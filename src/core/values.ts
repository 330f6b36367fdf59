/** Two questions asked of unknown values all over the code, answered once. */

/** The message of anything thrown (an Error's message, else its text). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A JSON object: not null, not an array. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
