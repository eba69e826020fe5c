// The body decoder's worker thread: decodes, parses and bounds-checks a large body off the event
// loop, and answers with the body's text when it passes (the event loop parses that again: a
// structured clone of the parsed value costs more than parsing the text), or with the problem.
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../core/errors.js';
import { bodyText, parseBounded } from './json-body.js';

export interface DecodeRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
}

export type DecodeReply = { readonly id: number; readonly text: string | undefined } | { readonly id: number; readonly error: string };

parentPort?.on('message', ({ id, bytes }: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const text = bodyText(bytes);
    if (text !== undefined) parseBounded(text);
    reply = { id, text };
  } catch (err) {
    reply = { id, error: errorMessage(err) };
  }
  parentPort?.postMessage(reply);
});
