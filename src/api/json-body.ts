// What a request body must be: UTF-8 (strictly: Buffer#toString would swap each bad byte for
// U+FFFD and store what the caller never sent), JSON, and within the bounds on every JSON value
// (src/core/json-bounds.ts). Pure, so the same code runs on the event loop for small bodies and
// in the decoder's worker thread for large ones.
import { jsonBoundsIssue } from '../core/json-bounds.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; undefined when it is empty or blank. Throws an Error saying what is wrong. */
export function bodyText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new Error('the body is not valid UTF-8');
  }
  return text.trim() === '' ? undefined : text;
}

/** JSON.parse, then the bounds. Throws an Error naming the field where a bound is passed. */
export function parseBounded(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  const issue = jsonBoundsIssue(value);
  if (issue) throw new Error(issue.path ? `${issue.path}: ${issue.message}` : `the body ${issue.message}`);
  return value;
}
