import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TITLE_TEMPLATE, renderTitle, stripTitlePrefix, templateProblems } from '../../../sync-rules/index.js';
import { names, templates, text } from './arbitraries.js';

const T = DEFAULT_TITLE_TEMPLATE;

describe('renderTitle', () => {
  it('joins deal, person, organization and subject with the default template', () => {
    expect(renderTitle(T, { deal: 'Big deal', person: 'Anna', org: 'Acme' }, 'Call')).toBe(
      'Big deal > Anna > Acme > Call',
    );
  });

  it('leaves out an absent part together with its separator', () => {
    expect(renderTitle(T, { person: 'Anna' }, 'Call')).toBe('Anna > Call');
    expect(renderTitle(T, { deal: 'D', org: 'O' }, 'Call')).toBe('D > O > Call');
  });

  it('renders only the subject when nothing is linked', () => {
    expect(renderTitle(T, {}, 'Call')).toBe('Call');
  });

  it('treats blank names as absent', () => {
    expect(renderTitle(T, { deal: '  ', person: null, org: '' }, 'Call')).toBe('Call');
  });

  it('keeps text before the first placeholder and after the last one', () => {
    expect(renderTitle('Meeting: {deal} > {subject}!', {}, 'Call')).toBe('Meeting: Call!');
    expect(renderTitle('Meeting: {deal} > {subject}!', { deal: 'D' }, 'Call')).toBe('Meeting: D > Call!');
  });

  it('takes the separator before a name that follows the subject', () => {
    expect(renderTitle('{subject} – {org} / {person}', { org: 'Acme', person: 'Anna' }, 'Call')).toBe(
      'Call – Acme / Anna',
    );
    expect(renderTitle('{subject} – {org} / {person}', { person: 'Anna' }, 'Call')).toBe('Call / Anna');
    expect(renderTitle('{subject} – {org} / {person}', { org: 'Acme' }, 'Call')).toBe('Call – Acme');
  });

  it('leaves out the brackets around an absent name', () => {
    expect(renderTitle('{subject} ({org})', { org: 'Acme' }, 'Call')).toBe('Call (Acme)');
    expect(renderTitle('{subject} ({org})', {}, 'Call')).toBe('Call');
    expect(renderTitle('[{org}] {subject}!', { org: 'Acme' }, 'Call')).toBe('[Acme] Call!');
    expect(renderTitle('[{org}] {subject}!', {}, 'Call')).toBe('Call!');
    expect(renderTitle('{subject} ({org}) – {person}', { person: 'Anna' }, 'Call')).toBe('Call – Anna');
    expect(renderTitle('{subject} ({org}) – {person}', { org: 'Acme' }, 'Call')).toBe('Call (Acme)');
    // Brackets in the subject's own surroundings stay.
    expect(renderTitle('({subject})', {}, 'Call')).toBe('(Call)');
  });

  it('inserts names literally even when they look like placeholders', () => {
    expect(renderTitle(T, { deal: '{subject}' }, 'Call')).toBe('{subject} > Call');
  });
});

describe('stripTitlePrefix', () => {
  it('returns the subject after the current prefix', () => {
    expect(stripTitlePrefix(T, { deal: 'D', person: 'P' }, 'D > P > New subject')).toBe('New subject');
  });

  it('keeps separators that belong to the subject', () => {
    expect(stripTitlePrefix(T, { person: 'P' }, 'P > Call > follow up')).toBe('Call > follow up');
  });

  it('returns the whole title trimmed when the user changed the prefix', () => {
    expect(stripTitlePrefix(T, { deal: 'D', person: 'P' }, '  P > New subject ')).toBe('P > New subject');
  });

  it('inverts renderTitle for any names, subjects and templates', () => {
    fc.assert(
      fc.property(templates, names, text(), (template, linked, subject) => {
        expect(stripTitlePrefix(template, linked, renderTitle(template, linked, subject))).toBe(subject);
      }),
      { numRuns: 500 },
    );
  });
});

describe('templateProblems', () => {
  it('accepts the default template', () => {
    expect(templateProblems(T)).toEqual([]);
  });

  it('requires {subject}', () => {
    expect(templateProblems('{deal} > {person}')).toEqual(['must contain {subject}']);
  });

  it('rejects a second {subject}', () => {
    expect(templateProblems('{subject} {subject}')).toEqual(['must contain {subject} only once']);
  });

  it('names unknown placeholders', () => {
    expect(templateProblems('{company} {subject}')[0]).toMatch(/unknown placeholder \{company\}/);
  });
});
