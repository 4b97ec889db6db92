// Where the service is and how to reach it: a Unix socket (unix:///PATH, or an absolute path),
// plain TCP (tcp:// or http://HOST:PORT, loopback only on the service's side) or TLS
// (https://HOST:PORT), with an optional bearer token. HUTCH_HOST, HUTCH_TOKEN and HUTCH_TLS_CA
// are read as the CLI reads them. Requests go through node:http / node:https so the same code serves the
// Unix socket (which fetch cannot reach) and streams bodies both ways.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { HutchError, abortError, errorFromBody } from './errors.js';

export interface ConnectionOptions {
  /** unix:///PATH, tcp://HOST:PORT, http://HOST:PORT or https://HOST:PORT; default $HUTCH_HOST,
   *  else the service's default socket ($XDG_RUNTIME_DIR/hutch/hutch.sock, /run/hutch/hutch.sock as root). */
  host?: string;
  /** Bearer token; default $HUTCH_TOKEN. */
  token?: string;
  /** CA certificate(s) (PEM) that sign an https:// service's certificate; default the file
   *  $HUTCH_TLS_CA names (as for the CLI), else node's CA store. */
  ca?: string | Buffer;
}

export type Endpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; tls: boolean; hostname: string; port: number };

export function defaultHost(): string {
  if (process.env.HUTCH_HOST) return process.env.HUTCH_HOST;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root && process.env.XDG_RUNTIME_DIR) return `unix://${process.env.XDG_RUNTIME_DIR}/hutch/hutch.sock`;
  return 'unix:///run/hutch/hutch.sock';
}

export function parseHost(text: string): Endpoint {
  const bad = (why: string): never => {
    throw new HutchError('invalid_argument', `host '${text}': ${why} (expected unix:///PATH, tcp://HOST:PORT, http://HOST:PORT or https://HOST:PORT)`);
  };
  if (text.startsWith('/')) return { kind: 'unix', socketPath: text };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) bad('the socket path must be absolute');
    return { kind: 'unix', socketPath };
  }
  const scheme = /^(tcp|http|https):\/\//.exec(text)?.[1];
  if (!scheme) return bad('unknown scheme');
  let url: URL;
  try {
    url = new URL(text.replace(/^tcp:/, 'http:'));
  } catch {
    return bad('not a URL');
  }
  if (url.pathname !== '/' || url.search) bad('a host has no path or query');
  const tls = scheme === 'https';
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  return { kind: 'tcp', tls, hostname: url.hostname.replace(/^\[|\]$/g, ''), port };
}

export type Body = string | Uint8Array | AsyncIterable<Uint8Array | string>;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | string[] | undefined>;
  json?: unknown;
  body?: Body;
  contentType?: string;
  signal?: AbortSignal;
}

export class Transport {
  readonly endpoint: Endpoint;
  readonly token: string | undefined;
  readonly host: string;
  readonly #ca: string | Buffer | undefined;
  readonly #agent: http.Agent;

  constructor(options: ConnectionOptions = {}) {
    this.host = options.host ?? defaultHost();
    this.endpoint = parseHost(this.host);
    this.token = options.token ?? process.env.HUTCH_TOKEN ?? undefined;
    this.#ca = options.ca ?? (process.env.HUTCH_TLS_CA ? readFileSync(process.env.HUTCH_TLS_CA) : undefined);
    const agentOptions = { keepAlive: true, maxSockets: 16 };
    this.#agent = this.endpoint.kind === 'tcp' && this.endpoint.tls
      ? new https.Agent({ ...agentOptions, ca: this.#ca })
      : new http.Agent(agentOptions);
  }

  /** The base URL of HTTP requests over TCP ('http://h:p' / 'https://h:p'); for a Unix socket
   *  'http://localhost', which is only meaningful with the socket path. */
  baseUrl(): string {
    if (this.endpoint.kind === 'unix') return 'http://localhost';
    const host = this.endpoint.hostname.includes(':') ? `[${this.endpoint.hostname}]` : this.endpoint.hostname;
    return `${this.endpoint.tls ? 'https' : 'http'}://${host}:${this.endpoint.port}`;
  }

  /** The URL and options for a WebSocket to `path` (the ws package's forms). */
  webSocketTarget(path: string): { url: string; options: { headers: Record<string, string>; ca?: string | Buffer } } {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.endpoint.kind === 'unix') return { url: `ws+unix://${this.endpoint.socketPath}:${path}`, options: { headers } };
    const url = this.baseUrl().replace(/^http/, 'ws') + path;
    return { url, options: this.#ca ? { headers, ca: this.#ca } : { headers } };
  }

  static pathWithQuery(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
    }
    const text = params.toString();
    return text ? `${path}?${text}` : path;
  }

  /** Sends a request and resolves with the response once its header arrived; an error status
   *  (>= 400) rejects with the service's HutchError. The caller reads (or drains) the body. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<http.IncomingMessage> {
    const what = `${method} ${path}`;
    const target = Transport.pathWithQuery(path, options.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: Body | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
    }
    if (typeof body === 'string' || body instanceof Uint8Array) headers['content-length'] = String(Buffer.byteLength(body));
    const requestOptions: http.RequestOptions = { method, path: target, headers, agent: this.#agent, signal: options.signal };
    if (this.endpoint.kind === 'unix') requestOptions.socketPath = this.endpoint.socketPath;
    else Object.assign(requestOptions, { hostname: this.endpoint.hostname, port: this.endpoint.port });
    const send = this.endpoint.kind === 'tcp' && this.endpoint.tls ? https.request : http.request;

    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(abortError(what));
      const request = send(requestOptions, (response) => {
        const status = response.statusCode ?? 0;
        if (status < 400) return resolve(response);
        readAll(response).then(
          (text) => reject(errorFromBody(status, text.toString('utf8'), what)),
          reject,
        );
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.name === 'AbortError') reject(abortError(what));
        else reject(new HutchError('io', `${what} to ${this.host}: ${error.message}`));
      });
      if (body === undefined) request.end();
      else if (typeof body === 'string' || body instanceof Uint8Array) request.end(body);
      else Readable.from(body).on('error', (error) => request.destroy(error)).pipe(request);
    });
  }

  /** A request whose answer is JSON (or nothing, for 204). */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, options);
    const text = (await readAll(response)).toString('utf8');
    if (response.statusCode === 204 || text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new HutchError('protocol', `${method} ${path}: the answer is not JSON: ${text.slice(0, 200)}`, response.statusCode);
    }
  }

  close(): void {
    this.#agent.destroy();
  }
}

export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
