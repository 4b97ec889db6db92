// A streamed command: GET /v1/sandboxes/{id}/exec upgraded to a WebSocket (server/STREAMS.md).
// stdout and stderr are async iterables of byte chunks, stdin is writable and closable, and the
// command can be signalled and its terminal resized. Output is kept in memory only until it is
// read: when a stream that is being read holds more than a high-water mark, the socket is paused,
// so the service (and then the command) waits for the reader.
import WebSocket from 'ws';
import { HutchError, abortError, errorFromBody } from './errors.js';
import type { Transport } from './transport.js';
import type { components } from './generated/openapi.js';

type ExecRequest = components['schemas']['ExecRequest'];
type ExecResult = components['schemas']['ExecResult'];

/** The last message of a stream: how the command ended. */
export type ExitStatus = Omit<ExecResult, 'stdout' | 'stderr' | 'stdout_encoding' | 'stderr_encoding'>;

const kStdin = 0;
const kStdout = 1;
const kStderr = 2;
const kHighWaterMark = 1 << 20;
const kAbortGraceMs = 5000;

const signalNumbers: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20,
};

export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  const number = signalNumbers[signal];
  if (number === undefined) throw new HutchError('invalid_argument', `signal '${signal}' is not one this client knows (use its number)`);
  return number;
}

// One output stream: chunks queued as they arrive, handed to one async iterator.
class OutputQueue implements AsyncIterable<Uint8Array> {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #iterating = false;
  constructor(readonly name: string, private readonly onDrain: () => void) {}

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    this.#wake?.();
  }
  end(error?: Error): void {
    this.#ended = true;
    this.#error ??= error;
    this.#wake?.();
  }
  /** Whether a reader is behind: the socket pauses until it catches up. */
  full(): boolean {
    return this.#iterating && this.#bytes > kHighWaterMark;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#iterating) throw new HutchError('invalid_argument', `${this.name} is read by one iterator only`);
    this.#iterating = true;
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#bytes -= chunk.length;
        this.onDrain();
        yield chunk;
        continue;
      }
      if (this.#ended) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

export interface StreamRequest extends ExecRequest {
  /** Aborting kills the command (SIGKILL) and ends the stream; wait() rejects with code 'aborted'. */
  signal?: AbortSignal;
}

export class CommandStream {
  readonly stdout: AsyncIterable<Uint8Array>;
  readonly stderr: AsyncIterable<Uint8Array>;
  /** Non-fatal errors the service reported about messages it could not apply. */
  readonly warnings: HutchError[] = [];
  readonly #socket: WebSocket;
  readonly #out: OutputQueue;
  readonly #err: OutputQueue;
  readonly #opened: Promise<void>;
  readonly #exited: Promise<ExitStatus>;
  #paused = false;

  /** Opens the stream and sends the request; resolves once the service accepted the socket. */
  static async open(transport: Transport, sandboxId: string, request: StreamRequest): Promise<CommandStream> {
    const stream = new CommandStream(transport, sandboxId, request);
    await stream.#opened;
    return stream;
  }

  private constructor(transport: Transport, sandboxId: string, request: StreamRequest) {
    const { signal, ...fields } = request;
    const path = `/v1/sandboxes/${encodeURIComponent(sandboxId)}/exec`;
    const what = `streamed command ${JSON.stringify(fields.argv)} in ${sandboxId}`;
    const target = transport.webSocketTarget(path);
    this.#socket = new WebSocket(target.url, { ...target.options, maxPayload: 2 << 20 });
    const drain = () => this.#resumeIfDrained();
    this.#out = new OutputQueue('stdout', drain);
    this.#err = new OutputQueue('stderr', drain);
    this.stdout = this.#out;
    this.stderr = this.#err;

    let exit: ExitStatus | undefined;
    let failure: HutchError | undefined;
    this.#opened = new Promise((resolve, reject) => {
      this.#socket.once('open', () => {
        this.#socket.send(JSON.stringify({ type: 'request', ...fields }));
        resolve();
      });
      this.#socket.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          failure = errorFromBody(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), what);
          reject(failure);
          this.#socket.terminate();
        });
      });
      this.#socket.once('error', (error) => {
        failure ??= new HutchError('io', `${what}: ${error.message}`);
        reject(failure);
      });
    });
    this.#opened.catch(() => {});

    this.#socket.on('message', (data: Buffer, binary: boolean) => {
      if (binary) {
        const id = data[0];
        const payload = new Uint8Array(data.buffer, data.byteOffset + 1, data.length - 1);
        if (id === kStdout) this.#out.push(payload);
        else if (id === kStderr) this.#err.push(payload);
        if (this.#out.full() || this.#err.full()) this.#pause();
        return;
      }
      let message: { type?: string; error?: { code: string; message: string } } & Record<string, unknown>;
      try {
        message = JSON.parse(data.toString('utf8'));
      } catch {
        failure ??= new HutchError('protocol', `${what}: the service sent a text frame that is not JSON`);
        return;
      }
      if (message.type === 'exit') {
        const { type: _type, ...status } = message;
        exit = status as unknown as ExitStatus;
        // Aborted: the kill has taken effect, so the stream can end (see onAbort).
        if (signal?.aborted) this.#socket.close(1000);
      } else if (message.type === 'error' && message.error) {
        const error = new HutchError(message.error.code as HutchError['code'], message.error.message);
        // Before the exit, an error followed by a close other than 1000 is fatal (the command
        // could not start); otherwise the stream goes on.
        this.warnings.push(error);
        failure ??= error;
      }
    });

    this.#exited = new Promise((resolve, reject) => {
      this.#socket.on('close', (code: number, reason: Buffer) => {
        // An aborted command rejects even when its exit (by the kill) arrived first.
        if (exit && code === 1000 && !signal?.aborted) {
          this.#out.end();
          this.#err.end();
          return resolve(exit);
        }
        const error = signal?.aborted ? abortError(what)
          : code === 1008 || code === 1011 ? failure ?? new HutchError('backend', `${what}: closed with ${code} ${reason}`)
          : exit ? new HutchError('protocol', `${what}: closed with ${code} after the exit`)
          : new HutchError('io', `${what}: the stream ended before the command did (close code ${code} ${reason.toString()})`);
        this.#out.end(error);
        this.#err.end(error);
        reject(error);
      });
    });
    this.#exited.catch(() => {});

    if (signal) {
      // The command is killed and the stream ends once its exit arrives, so that wait() rejects
      // only when the command is gone; a service that does not answer within kAbortGraceMs is
      // left (closing the stream makes it kill the command too).
      const onAbort = () => {
        if (this.#socket.readyState === WebSocket.CONNECTING) return this.#socket.terminate();
        if (this.#socket.readyState !== WebSocket.OPEN) return;
        if (exit) return this.#socket.close(1000);
        // The output is no longer wanted: read on, so that the exit is seen.
        this.#paused = false;
        this.#socket.resume();
        this.#socket.send(JSON.stringify({ type: 'signal', signal: 9 }));
        const timer = setTimeout(() => this.#socket.close(1000), kAbortGraceMs);
        this.#socket.once('close', () => clearTimeout(timer));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      this.#exited.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
    }
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
  }
  #resumeIfDrained(): void {
    if (this.#paused && !this.#out.full() && !this.#err.full()) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #send(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#socket.readyState !== WebSocket.OPEN)
        return reject(new HutchError('state', 'the command\'s stream is closed'));
      this.#socket.send(data, (error) => (error ? reject(new HutchError('io', error.message)) : resolve()));
    });
  }

  /** Writes to the command's stdin (resolves once handed to the socket). */
  write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.#send(Buffer.concat([Buffer.from([kStdin]), bytes]));
  }
  /** The command reads end of file. */
  closeStdin(): Promise<void> {
    return this.#send(JSON.stringify({ type: 'close_stdin' }));
  }
  /** Signals the command's whole process tree (default SIGTERM). */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): Promise<void> {
    return this.#send(JSON.stringify({ type: 'signal', signal: signalNumber(signal) }));
  }
  /** The terminal's size, for a command started with tty: true. */
  resize(cols: number, rows: number): Promise<void> {
    return this.#send(JSON.stringify({ type: 'resize', cols, rows }));
  }
  /** Resolves with how the command ended; rejects when the stream failed first. */
  wait(): Promise<ExitStatus> {
    return this.#exited;
  }
}
