/**
 * The optional contact-details block at the end of an event description: the linked deal, person and organization,
 * with links back to Pipedrive, so the user sees who a meeting is with from inside the calendar.
 *
 * The block is generated, not user content: it starts with a marker line (`CONTACT_BLOCK_MARKER`) and runs to the
 * end of the description. Reading an event back, everything from the last marker line on is dropped, so the block
 * never flows into Pipedrive's description and never counts as a user edit. Limit: text a user types below the
 * block in Google is dropped with it.
 */

export const CONTACT_BLOCK_MARKER = '-- Pipedrive contact details (updated automatically) --';

/** What the block shows; ids are used for the links. Phone numbers and e-mails as the user sees them. */
export interface ContactDetails {
  deal?: { id: number; title: string } | null;
  person?: { id: number; name: string; emails?: string[] | null; phones?: string[] | null } | null;
  org?: { id: number; name: string } | null;
}

/** Separator between the user's description and the block; removed again exactly when stripping. */
const SEPARATOR = '\n\n';

function link(appUrl: string | undefined, kind: 'deal' | 'person' | 'organization', id: number): string {
  return appUrl ? ` – ${appUrl.replace(/\/+$/, '')}/${kind}/${id}` : '';
}

/** The block's text, or null when there is nothing linked to show. */
export function renderContactBlock(contact: ContactDetails | undefined, pipedriveAppUrl?: string): string | null {
  const lines: string[] = [];
  if (contact?.deal) lines.push(`Deal: ${contact.deal.title}${link(pipedriveAppUrl, 'deal', contact.deal.id)}`);
  if (contact?.person) {
    const reach = [...(contact.person.emails ?? []), ...(contact.person.phones ?? [])].filter((s) => s.trim() !== '');
    const details = reach.length > 0 ? ` (${reach.join(', ')})` : '';
    lines.push(`Person: ${contact.person.name}${details}${link(pipedriveAppUrl, 'person', contact.person.id)}`);
  }
  if (contact?.org)
    lines.push(`Organization: ${contact.org.name}${link(pipedriveAppUrl, 'organization', contact.org.id)}`);
  return lines.length === 0 ? null : [CONTACT_BLOCK_MARKER, ...lines].join('\n');
}

/** The user's description followed by the block (if any). */
export function withContactBlock(description: string, block: string | null): string {
  if (block === null) return description;
  return description === '' ? block : description + SEPARATOR + block;
}

/** The user's description without our block; exact inverse of `withContactBlock`. */
export function stripContactBlock(description: string): string {
  const at = description.lastIndexOf(CONTACT_BLOCK_MARKER);
  if (at < 0) return description;
  const before = description.slice(0, at);
  if (before.endsWith(SEPARATOR)) return before.slice(0, -SEPARATOR.length);
  // Google's editor may have turned our newlines into <br> or collapsed them; drop what is left of the separator.
  return before.replace(/(?:<br\s*\/?>|\s)+$/i, '');
}
