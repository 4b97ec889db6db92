// HutchClient: the /v1 API of `hutch serve`, one method per route, typed with the schemas
// generated from server/openapi.json. Every failure is a HutchError with the service's code.
import type { Readable } from 'node:stream';
import type { components } from './generated/openapi.js';
import { CommandStream, type StreamRequest } from './streams.js';
import { Transport, readAll, type Body, type ConnectionOptions } from './transport.js';

type Schemas = components['schemas'];
export type Sandbox = Schemas['Sandbox'];
export type CreateSandbox = Schemas['CreateSandbox'];
export type ExecRequest = Schemas['ExecRequest'];
export type ExecResult = Schemas['ExecResult'];
export type Backend = Schemas['Backend'];
export type Capabilities = Schemas['Capabilities'];
export type Snapshot = Schemas['Snapshot'];
export type Stats = Schemas['Stats'];
export type FileStat = Schemas['FileStat'];
export type DirEntry = Schemas['DirEntry'];
export type Lifetimes = Schemas['Lifetimes'];
export type Health = Schemas['Health'];

export interface CallOptions {
  signal?: AbortSignal;
}

export class HutchClient {
  readonly transport: Transport;

  constructor(options: ConnectionOptions = {}) {
    this.transport = new Transport(options);
  }

  /** Ends the client's idle keep-alive connections. */
  close(): void {
    this.transport.close();
  }

  #sandbox(id: string, rest = ''): string {
    return `/v1/sandboxes/${encodeURIComponent(id)}${rest}`;
  }

  health(options: CallOptions = {}): Promise<Health> {
    return this.transport.json('GET', '/healthz', options);
  }
  backends(options: CallOptions = {}): Promise<Backend[]> {
    return this.transport.json('GET', '/v1/backends', options);
  }

  // Sandboxes.
  createSandbox(spec: CreateSandbox = {}, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', '/v1/sandboxes', { ...options, json: spec });
  }
  /** The sandboxes the caller may see; `labels` must all match. */
  listSandboxes(filter: { labels?: Record<string, string>; backend?: string } = {}, options: CallOptions = {}): Promise<Sandbox[]> {
    const label = Object.entries(filter.labels ?? {}).map(([key, value]) => `${key}=${value}`);
    return this.transport.json('GET', '/v1/sandboxes', { ...options, query: { label, backend: filter.backend } });
  }
  getSandbox(id: string, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('GET', this.#sandbox(id), options);
  }
  deleteSandbox(id: string, options: CallOptions = {}): Promise<void> {
    return this.transport.json('DELETE', this.#sandbox(id), options);
  }
  setLifetimes(id: string, lifetimes: Lifetimes, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('PATCH', this.#sandbox(id), { ...options, json: lifetimes });
  }
  /** Sets (and unsets) environment variables of the commands started from now on, kept with the sandbox (PATCH env). */
  setEnv(id: string, set: Record<string, string>, unset: string[] = [], options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('PATCH', this.#sandbox(id), { ...options, json: { env: { set, unset } } });
  }
  stop(id: string, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', this.#sandbox(id, '/stop'), options);
  }
  start(id: string, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', this.#sandbox(id, '/start'), options);
  }
  pause(id: string, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', this.#sandbox(id, '/pause'), options);
  }
  unpause(id: string, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', this.#sandbox(id, '/unpause'), options);
  }
  fork(id: string, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', this.#sandbox(id, '/fork'), options);
  }
  snapshot(id: string, label = '', options: CallOptions = {}): Promise<Snapshot> {
    return this.transport.json('POST', this.#sandbox(id, '/snapshot'), { ...options, json: { label } });
  }
  stats(id: string, options: CallOptions = {}): Promise<Stats> {
    return this.transport.json('GET', this.#sandbox(id, '/stats'), options);
  }

  // Snapshots.
  listSnapshots(options: CallOptions = {}): Promise<Snapshot[]> {
    return this.transport.json('GET', '/v1/snapshots', options);
  }
  /** A new sandbox started from a snapshot (with `spec`'s env and labels). */
  restoreSnapshot(snapshotId: string, spec: CreateSandbox = {}, options: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json('POST', `/v1/snapshots/${encodeURIComponent(snapshotId)}/restore`, { ...options, json: spec });
  }
  deleteSnapshot(snapshotId: string, options: CallOptions = {}): Promise<void> {
    return this.transport.json('DELETE', `/v1/snapshots/${encodeURIComponent(snapshotId)}`, options);
  }

  // Commands.
  /** Runs a command to completion; a non-zero exit is a result, not an error. */
  exec(id: string, request: ExecRequest, options: CallOptions = {}): Promise<ExecResult> {
    return this.transport.json('POST', this.#sandbox(id, '/exec'), { ...options, json: request });
  }
  /** A command streamed over a WebSocket: stdout/stderr as they are written, stdin, signals. */
  stream(id: string, request: StreamRequest): Promise<CommandStream> {
    return CommandStream.open(this.transport, id, request);
  }

  // Files (paths are absolute inside the sandbox).
  /** A file's content as a stream of chunks, as the service sends them. */
  async readFileStream(id: string, path: string, options: CallOptions = {}): Promise<Readable> {
    return this.transport.request('GET', this.#sandbox(id, '/files'), { ...options, query: { path } });
  }
  async readFile(id: string, path: string, options: CallOptions = {}): Promise<Uint8Array> {
    return new Uint8Array(await readAll(await this.readFileStream(id, path, options)));
  }
  /** Creates or replaces a file; `data` may be an async iterable (or Readable), streamed. */
  writeFile(id: string, path: string, data: Body, options: CallOptions & { mode?: number } = {}): Promise<FileStat> {
    const mode = options.mode === undefined ? undefined : options.mode.toString(8).padStart(4, '0');
    return this.transport.json('PUT', this.#sandbox(id, '/files'), { signal: options.signal, query: { path, mode }, body: data });
  }
  removeFile(id: string, path: string, options: CallOptions & { recursive?: boolean } = {}): Promise<void> {
    return this.transport.json('DELETE', this.#sandbox(id, '/files'), {
      signal: options.signal, query: { path, recursive: options.recursive ? true : undefined },
    });
  }
  listFiles(id: string, path: string, options: CallOptions = {}): Promise<DirEntry[]> {
    return this.transport.json('GET', this.#sandbox(id, '/files/list'), { ...options, query: { path } });
  }
  statFile(id: string, path: string, options: CallOptions = {}): Promise<FileStat> {
    return this.transport.json('GET', this.#sandbox(id, '/files/stat'), { ...options, query: { path } });
  }
  mkdir(id: string, path: string, options: CallOptions & { parents?: boolean; mode?: number } = {}): Promise<FileStat> {
    return this.transport.json('POST', this.#sandbox(id, '/files/mkdir'), {
      signal: options.signal, json: { path, parents: options.parents, mode: options.mode },
    });
  }
  moveFile(id: string, from: string, to: string, options: CallOptions = {}): Promise<void> {
    return this.transport.json('POST', this.#sandbox(id, '/files/move'), { ...options, json: { from, to } });
  }

  // Ports.
  /** The URL of the service's proxy to `port` inside the sandbox (HTTP and WebSocket); send the
   *  client's token as `Authorization: Bearer`. Over a Unix socket the URL's host is a
   *  placeholder: connect to the socket. */
  portUrl(id: string, port: number): string {
    return `${this.transport.baseUrl()}${this.#sandbox(id, `/ports/${port}`)}/`;
  }
}
