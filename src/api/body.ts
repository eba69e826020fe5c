// Reading a request body under a byte limit: a declared Content-Length above it is refused before
// a byte is read, and a body sent without one (chunked) stops being read as soon as it passes
// the limit. Either way the caller answers 413 naming the limit and closes the connection.
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
  }
}

/** The declared Content-Length, or undefined when the body is chunked (or absent). */
function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  // Node's parser has already refused a malformed or repeated Content-Length.
  return raw === undefined ? undefined : Number(raw);
}

/** Whether the request carries a body at all (so that leaving it unread means closing the connection). */
export function hasBody(req: IncomingMessage): boolean {
  const length = declaredLength(req);
  return length === undefined ? req.headers['transfer-encoding'] !== undefined : length > 0;
}

/** The body's bytes, in one buffer of its own (transferable to a worker); throws BodyTooLargeError past `limit`. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return body;
}
