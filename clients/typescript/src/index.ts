export { HutchClient } from './client.js';
export type {
  Sandbox, CreateSandbox, ExecRequest, ExecResult, Backend, Capabilities, Snapshot, Stats, FileStat, DirEntry,
  Lifetimes, Health, CallOptions,
} from './client.js';
export { CommandStream, signalNumber } from './streams.js';
export type { ExitStatus, StreamRequest } from './streams.js';
export { HutchError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { Transport, parseHost, defaultHost } from './transport.js';
export type { ConnectionOptions, Endpoint, Body } from './transport.js';
export type { components, paths } from './generated/openapi.js';
