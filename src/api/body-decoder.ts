// Turns request bodies into JSON values without holding the event loop: a small body is decoded
// in place (a worker round trip costs more than it), a large one in a worker thread, where
// decoding, JSON.parse and the bounds walk of a multi-megabyte body take their time while the
// event loop keeps answering other requests. Only a body that passed comes back, so what the
// event loop still spends on it (parsing the text again) is bounded by the bounds.
import { Worker } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './json-worker.js';
import { bodyText, parseBounded } from './json-body.js';

/** Bodies up to this many bytes are decoded on the event loop (about a millisecond at most). */
export const INLINE_DECODE_BYTES = 16 * 1024;

export class BodyDecodeError extends Error {
  override readonly name = 'BodyDecodeError';
}

interface Pending {
  readonly resolve: (text: string | undefined) => void;
  readonly reject: (err: Error) => void;
}

export class BodyDecoder {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly inlineBytes = INLINE_DECODE_BYTES) {}

  /** The body's JSON value (undefined when empty); throws BodyDecodeError saying what is wrong. Takes `bytes` over: a large body's buffer moves to the worker. */
  async decode(bytes: Uint8Array): Promise<unknown> {
    if (bytes.length <= this.inlineBytes) {
      try {
        const text = bodyText(bytes);
        return text === undefined ? undefined : parseBounded(text);
      } catch (err) {
        throw new BodyDecodeError((err as Error).message);
      }
    }
    const text = await this.inWorker(bytes);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  private inWorker(bytes: Uint8Array): Promise<string | undefined> {
    const worker = this.worker ?? this.start();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: DecodeRequest = { id, bytes };
      worker.postMessage(request, [bytes.buffer as ArrayBuffer]);
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./json-worker.js', import.meta.url));
    // Idle, it must not keep the process alive; busy, its replies do.
    worker.unref();
    worker.on('message', (reply: DecodeReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!p) return;
      if ('error' in reply) p.reject(new BodyDecodeError(reply.error));
      else p.resolve(reply.text);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`the body decoder failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the body decoder stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
