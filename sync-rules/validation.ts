/**
 * Validation results as data: every input (settings, upload options, a webhook body, push headers) is checked by
 * one schema, and what is wrong travels as issues — a path into the input and a readable message — from the
 * workflow's update validators to the admin API and the settings page, never as text to be parsed again.
 */
export interface ValidationIssue {
  /** Where in the input, e.g. `['titleTemplate']`; empty for the input as a whole. */
  path: (string | number)[];
  /** The readable line shown to the user, naming the field (`titleTemplate: must contain {subject}`). */
  message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** Issues from a zod error, each message prefixed with its field. */
export function zodIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): ValidationIssue[] {
  return issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    return { path, message: path.length === 0 ? issue.message : `${path.join('.')}: ${issue.message}` };
  });
}

/** True for what `ValidationIssue[]` looks like after a trip through Temporal's payloads. */
export function isValidationIssues(value: unknown): value is ValidationIssue[] {
  return (
    Array.isArray(value) &&
    value.every((i) => typeof i === 'object' && i !== null && typeof i.message === 'string' && Array.isArray(i.path))
  );
}
