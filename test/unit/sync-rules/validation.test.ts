import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { rejectedIssues } from '../../../client/update-rejection.js';
import { checkSettings } from '../../../sync-rules/settings.js';
import { isValidationIssues } from '../../../sync-rules/validation.js';
import { checkUploadOptions } from '../../../workflows/upload-options.js';
import { INVALID_SETTINGS, INVALID_UPLOAD_OPTIONS, invalidInput } from '../../../workflows/contract.js';

describe('validation issues as data', () => {
  it('names the field of each settings problem by path', () => {
    const checked = checkSettings({ mode: 'sideways', titleTemplate: '{deal}' });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.issues.map((i) => i.path)).toEqual([['mode'], ['titleTemplate']]);
    expect(checked.issues[1]).toEqual({ path: ['titleTemplate'], message: 'titleTemplate: must contain {subject}' });
  });

  it('names the option of each upload problem by path', () => {
    expect(checkUploadOptions({ from: '2026-02-30', quota: 5 })).toEqual({
      ok: false,
      issues: [
        { path: ['quota'], message: 'unknown option "quota"' },
        { path: ['from'], message: 'from must be a date YYYY-MM-DD' },
      ],
    });
  });

  it('carries the issues of a rejected update to the client in the failure details', () => {
    const issues = [{ path: ['calendarId'], message: 'calendarId: choose a calendar before enabling the sync' }];
    const failure = invalidInput(INVALID_SETTINGS, issues);
    expect(failure.message).toBe('invalid settings: calendarId: choose a calendar before enabling the sync');
    const err = new WorkflowUpdateFailedError('Workflow Update failed', failure);
    expect(rejectedIssues(err, INVALID_SETTINGS)).toEqual(issues);
    // Another input's rejection, or any other failure, is not mistaken for it.
    expect(rejectedIssues(err, INVALID_UPLOAD_OPTIONS)).toBeUndefined();
    const other = new WorkflowUpdateFailedError('x', ApplicationFailure.nonRetryable('invalid settings: looks alike'));
    expect(rejectedIssues(other, INVALID_SETTINGS)).toBeUndefined();
    expect(rejectedIssues(new Error('invalid settings: mode'), INVALID_SETTINGS)).toBeUndefined();
  });

  it('recognises issues only in their shape', () => {
    expect(isValidationIssues([{ path: [], message: 'm' }])).toBe(true);
    expect(isValidationIssues(['mode: bad'])).toBe(false);
    expect(isValidationIssues({ path: [], message: 'm' })).toBe(false);
  });
});
