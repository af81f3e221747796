/**
 * The failure converter of every worker, client and workflow bundle: it moves an error's message and stack trace
 * into an encoded payload, so the payload codec (lib/payload-codec.ts) encrypts them like every other payload.
 * A failure can quote what it failed on — an event title, an attendee — and history keeps failures of retried
 * activities too; without this they would sit in Temporal in clear. Readers with the codec (our clients, the
 * Temporal UI through the codec endpoint) see the message as usual; anyone else sees "Encoded failure".
 *
 * CommonJS on purpose: the SDK loads it by path with `require` in the worker and client processes (no
 * TypeScript loader there in production or under vitest), and the workflow bundler builds it into the sandbox.
 */
'use strict';

const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
