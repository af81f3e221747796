/**
 * Reading an update's rejection of invalid input (`invalidInput` in workflows/contract.ts) as data: the issues
 * travel as the failure's first detail, so nothing here parses a message.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isValidationIssues, type ValidationIssue } from '../sync-rules/validation.js';

/** The issues of an update rejected for invalid input of `type`, or undefined for any other failure. */
export function rejectedIssues(err: unknown, type: string): ValidationIssue[] | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== type) return undefined;
  const [issues] = cause.details ?? [];
  return isValidationIssues(issues) ? issues : undefined;
}

/**
 * The reason an update was refused by its validator with one of `types` (a state or input the caller must fix,
 * e.g. `SyncNotRunning`), or undefined for any other failure.
 */
export function refusal(err: unknown, types: readonly string[]): { type: string; message: string } | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || !cause.type || !types.includes(cause.type)) return undefined;
  return { type: cause.type, message: cause.message };
}
