/**
 * Event titles: `{deal} > {person} > {org} > {subject}` rendered from an activity, and the reverse — finding the
 * subject in a title the user edited in Google.
 *
 * Rendering rule: a template is literal text and placeholders. A name placeholder whose value is absent (no linked
 * entity, or a blank name) is left out together with its separator: before `{subject}` the separator is the text
 * after the placeholder (`{deal} > ` in the default), after `{subject}` it is the text before it (` – {org}`). A
 * bracket pair directly around a placeholder belongs to it (` ({org})`, ` [{deal}]`), so it goes when the name
 * does. Text before the first and after the last placeholder is always kept. So the default gives `Deal > Person >
 * Org > Subject`, `Person > Subject` or just `Subject`, and `{subject} ({org})` gives `Subject (Org)` or
 * `Subject`. `{subject}` is always present (even when empty), so the title is always prefix + subject + suffix —
 * which is what makes the reverse direction exact.
 */
import type { LinkedNames } from './types.js';

export const TITLE_PLACEHOLDERS = ['deal', 'person', 'org', 'subject'] as const;
export type TitlePlaceholder = (typeof TITLE_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{([^{}]*)\}/g;

interface ParsedTemplate {
  /** literals[0] precedes placeholders[0]; literals[i + 1] follows placeholders[i]. */
  literals: string[];
  placeholders: string[];
}

function parseTemplate(template: string): ParsedTemplate {
  const literals: string[] = [];
  const placeholders: string[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, match.index));
    placeholders.push(match[1] ?? '');
    last = match.index + match[0].length;
  }
  literals.push(template.slice(last));
  return { literals, placeholders };
}

/** Why a template cannot be used; empty when it is fine. Used by the settings schema. */
export function templateProblems(template: string): string[] {
  const { placeholders } = parseTemplate(template);
  const problems: string[] = [];
  const known: readonly string[] = TITLE_PLACEHOLDERS;
  for (const name of new Set(placeholders)) {
    if (!known.includes(name)) {
      problems.push(`unknown placeholder {${name}}; use only ${TITLE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
    }
  }
  const subjects = placeholders.filter((p) => p === 'subject').length;
  // Exactly one {subject}: the reverse direction needs one unambiguous place where the subject lives.
  if (subjects === 0) problems.push('must contain {subject}');
  if (subjects > 1) problems.push('must contain {subject} only once');
  return problems;
}

function nameFor(placeholder: string, names: LinkedNames): string | null {
  const value = placeholder === 'deal' ? names.deal : placeholder === 'person' ? names.person : names.org;
  const trimmed = value?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}

const BRACKETS: Record<string, string> = { '(': ')', '[': ']', '<': '>', '«': '»' };

/** The rendered title around the subject: title = prefix + subject + suffix. */
export function titleFrame(template: string, names: LinkedNames): { prefix: string; suffix: string } {
  const problems = templateProblems(template);
  if (problems.length > 0) throw new Error(`invalid title template "${template}": ${problems.join('; ')}`);
  const { literals, placeholders } = parseTemplate(template);
  // Each name becomes one piece of text with the brackets directly around it (taken out of the literals), or
  // null when absent.
  const texts = placeholders.map((placeholder, i) => {
    const before = literals[i]!;
    const after = literals[i + 1]!;
    const close = BRACKETS[before.slice(-1)];
    const wrapped = placeholder !== 'subject' && close !== undefined && after.startsWith(close);
    if (wrapped) {
      literals[i] = before.slice(0, -1);
      literals[i + 1] = after.slice(1);
    }
    const value = placeholder === 'subject' ? '' : nameFor(placeholder, names);
    return value === null ? null : wrapped ? before.slice(-1) + value + close : value;
  });
  const subjectAt = placeholders.indexOf('subject');
  let prefix = literals[0]!;
  for (let i = 0; i < subjectAt; i++) {
    if (texts[i] !== null) prefix += texts[i]! + literals[i + 1]!;
  }
  let suffix = '';
  for (let i = subjectAt + 1; i < texts.length; i++) {
    if (texts[i] !== null) suffix += literals[i]! + texts[i]!;
  }
  suffix += literals[literals.length - 1]!;
  return { prefix, suffix };
}

/** The event title for an activity with this subject and these linked names. */
export function renderTitle(template: string, names: LinkedNames, subject: string): string {
  const { prefix, suffix } = titleFrame(template, names);
  return prefix + subject + suffix;
}

/**
 * The subject a user left in a title, given the CURRENT linked names: the title without the rendered prefix and
 * suffix. Exact inverse of `renderTitle` for the same names, whatever the subject contains (also ` > `).
 *
 * If the user edited the prefix itself (deleted a name, changed a separator), or the names changed since the title
 * was rendered, there is no reliable way to tell prefix from subject, so the whole title, trimmed, becomes the
 * subject. That loses nothing the user typed; the next render shows the names twice and the user can fix it.
 */
export function stripTitlePrefix(template: string, names: LinkedNames, title: string): string {
  const { prefix, suffix } = titleFrame(template, names);
  if (title.length >= prefix.length + suffix.length && title.startsWith(prefix) && title.endsWith(suffix)) {
    return title.slice(prefix.length, title.length - suffix.length);
  }
  return title.trim();
}
