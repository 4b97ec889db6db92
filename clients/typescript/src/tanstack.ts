// hutchSandbox: a TanStack AI sandbox provider (`@tanstack/ai-sandbox`'s SandboxProvider and
// SandboxHandle) on a hutch service, on any of its backends, local (Unix socket) or remote
// (TCP/TLS + token). Capabilities come from the service's GET /v1/backends, so they are the
// backend's own; git desugars to `process.exec` through TanStack's own createExecBackedGit.
import { posix } from 'node:path';
import { createExecBackedGit } from '@tanstack/ai-sandbox';
import type {
  ExecResult as TanStackExecResult, ProcessOptions, SandboxCapabilities, SandboxChannel, SandboxCreateInput,
  SandboxDestroyInput, SandboxFs, SandboxHandle, SandboxProvider, SandboxRestoreInput, SandboxResumeInput,
  SnapshotRef, SpawnHandle,
} from '@tanstack/ai-sandbox';
import { HutchClient, type Capabilities, type CreateSandbox, type Sandbox } from './client.js';
import { HutchError } from './errors.js';
import type { ConnectionOptions } from './transport.js';

export interface HutchSandboxOptions extends ConnectionOptions {
  /** The service's backend (default: the service's default backend). */
  backend?: string;
  /** The image sandboxes are created from (default: the service's configured default). */
  image?: string;
  /** Environment of every sandbox, under the create input's own env. */
  env?: Record<string, string>;
  /** More of the create request (network, memory, cpus, ttl_ms, labels, …). */
  spec?: Omit<CreateSandbox, 'image' | 'env' | 'backend'>;
  /** The workspace root inside the sandbox when the workspace names none (default /workspace). */
  workspaceRoot?: string;
  /** The provider's name as TanStack records it (default 'hutch'). */
  name?: string;
  /** A client to use instead of one made from host/token/ca. */
  client?: HutchClient;
}

/** The label that keeps TanStack's instance key (SandboxCreateInput.id) on the sandbox. */
export const kInstanceKeyLabel = 'tanstack.instance-key';
const kDefaultWorkspaceRoot = '/workspace';

let nextPid = 1;

function capabilitiesOf(backend: Capabilities, remoteUrl: boolean): SandboxCapabilities {
  return {
    fs: true,
    exec: true,
    env: true,
    // The service's port proxy; its URL is reachable only over TCP.
    ports: remoteUrl && backend.connect_port,
    backgroundProcesses: true,
    writableStdin: backend.stdin,
    snapshots: backend.snapshot,
    networkPolicy: false,
    durableFilesystem: backend.persistent && backend.stop,
    fork: backend.fork,
  };
}

// The exit code TanStack expects: a command killed by a signal reports 128 + signal, as a shell does.
function exitCodeOf(status: { exit_code: number | null; signal: number | null }): number {
  return status.exit_code ?? 128 + (status.signal ?? 0);
}

// Text decoded across chunk boundaries.
async function* decoded(chunks: AsyncIterable<Uint8Array>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

class HutchHandle implements SandboxHandle {
  readonly id: string;
  readonly fs: SandboxFs;
  readonly git: SandboxHandle['git'];
  readonly process: SandboxHandle['process'];
  readonly ports: SandboxHandle['ports'];
  readonly env: SandboxHandle['env'];

  constructor(
    readonly provider: string,
    readonly capabilities: SandboxCapabilities,
    readonly workspaceRoot: string,
    private readonly client: HutchClient,
    sandbox: Sandbox,
  ) {
    this.id = sandbox.id;
    const id = this.id;
    const at = (path: string) => posix.resolve(workspaceRoot, path);
    this.fs = {
      read: async (path) => new TextDecoder().decode(await client.readFile(id, at(path))),
      readBytes: (path) => client.readFile(id, at(path)),
      write: async (path, data) => {
        await client.mkdir(id, posix.dirname(at(path)), { parents: true });
        await client.writeFile(id, at(path), data);
      },
      list: async (path) =>
        (await client.listFiles(id, at(path))).map((entry) => ({
          name: entry.name,
          path: posix.join(at(path), entry.name),
          type: entry.type === 'directory' ? 'dir' as const : 'file' as const,
        })),
      mkdir: async (path) => {
        await client.mkdir(id, at(path), { parents: true });
      },
      remove: (path) => client.removeFile(id, at(path), { recursive: true }),
      rename: (from, to) => client.moveFile(id, at(from), at(to)),
      exists: async (path) => {
        try {
          await client.statFile(id, at(path));
          return true;
        } catch (error) {
          if (error instanceof HutchError && error.code === 'not_found') return false;
          throw error;
        }
      },
    };
    this.process = {
      exec: (command, options) => this.#exec(command, options),
      spawn: (command, options) => this.#spawn(command, options),
    };
    this.git = createExecBackedGit(this.process, workspaceRoot);
    this.ports = { connect: (port) => this.#connect(port) };
    // Kept by the sandbox (PATCH env, Handle::set_env): every client and process sees it.
    this.env = {
      set: async (vars) => {
        await client.setEnv(id, vars);
      },
    };
  }

  #request(command: string, options: ProcessOptions = {}) {
    return {
      argv: ['/bin/sh', '-c', command],
      cwd: options.cwd ? posix.resolve(this.workspaceRoot, options.cwd) : this.workspaceRoot,
      env: { ...options.env },
    };
  }

  async #exec(command: string, options: ProcessOptions = {}): Promise<TanStackExecResult> {
    if (!options.signal) {
      const result = await this.client.exec(this.id, this.#request(command, options));
      const text = (data: string, encoding: string) => (encoding === 'base64' ? Buffer.from(data, 'base64').toString('utf8') : data);
      return { stdout: text(result.stdout, result.stdout_encoding), stderr: text(result.stderr, result.stderr_encoding), exitCode: exitCodeOf(result) };
    }
    // With a signal the command is streamed, so that aborting kills it.
    const stream = await this.client.stream(this.id, { ...this.#request(command, options), signal: options.signal, stdin: '' });
    const collect = async (chunks: AsyncIterable<string>) => {
      let text = '';
      for await (const chunk of chunks) text += chunk;
      return text;
    };
    const [stdout, stderr, status] = await Promise.all([collect(decoded(stream.stdout)), collect(decoded(stream.stderr)), stream.wait()]);
    return { stdout, stderr, exitCode: exitCodeOf(status) };
  }

  async #spawn(command: string, options: ProcessOptions = {}): Promise<SpawnHandle> {
    const stream = await this.client.stream(this.id, { ...this.#request(command, options), signal: options.signal });
    return {
      // The service does not expose process ids: a number unique within this client.
      pid: nextPid++,
      stdout: decoded(stream.stdout),
      stderr: decoded(stream.stderr),
      stdin: { write: (data) => stream.write(data), end: () => stream.closeStdin() },
      wait: async () => exitCodeOf(await stream.wait()),
      kill: (signal) => stream.kill(signal ?? 'SIGTERM'),
    };
  }

  async #connect(port: number): Promise<SandboxChannel> {
    if (!this.capabilities.ports)
      throw new HutchError('unsupported', `ports.connect on sandbox ${this.id}: ${this.client.transport.endpoint.kind === 'unix'
        ? 'the service is reached over a Unix socket, so no URL reaches its port proxy; use a tcp:// or https:// host'
        : 'this backend cannot connect to a port inside its sandboxes'}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HutchError('invalid_argument', `ports.connect: port ${port} is not 1-65535`);
    const token = this.client.transport.token;
    const channel: SandboxChannel = { url: this.client.portUrl(this.id, port) };
    if (token) Object.assign(channel, { token, headers: { authorization: `Bearer ${token}` } });
    return channel;
  }

  snapshot = async (label?: string): Promise<SnapshotRef> => {
    const snapshot = await this.client.snapshot(this.id, label ?? '');
    return snapshot.label ? { id: snapshot.id, label: snapshot.label } : { id: snapshot.id };
  };

  fork = async (): Promise<SandboxHandle> => {
    const copy = await this.client.fork(this.id);
    return new HutchHandle(this.provider, this.capabilities, this.workspaceRoot, this.client, copy);
  };

  destroy = async (): Promise<void> => {
    await this.client.deleteSandbox(this.id).catch((error) => {
      if (!(error instanceof HutchError && error.code === 'not_found')) throw error;
    });
  };
}

export interface HutchSandboxProvider extends SandboxProvider {
  /** The client the provider talks through. */
  readonly client: HutchClient;
  restoreSnapshot: (input: SandboxRestoreInput) => Promise<SandboxHandle>;
}

/**
 * A TanStack AI SandboxProvider on a hutch service. Asks the service for the backend's
 * capabilities once, so `capabilities()` is truthful (and synchronous, as TanStack wants it).
 */
export async function hutchSandbox(options: HutchSandboxOptions = {}): Promise<HutchSandboxProvider> {
  const client = options.client ?? new HutchClient(options);
  const backends = await client.backends();
  const backend = options.backend ? backends.find((one) => one.name === options.backend) : backends.find((one) => one.default);
  if (!backend)
    throw new HutchError('not_found', `hutchSandbox: the service has no backend '${options.backend}' (it has: ${backends.map((one) => one.name).join(', ')})`);
  const capabilities = capabilitiesOf(backend.capabilities, client.transport.endpoint.kind === 'tcp');
  const name = options.name ?? 'hutch';
  const workspaceRootOf = (input: { workspace?: { root?: string } }) => input.workspace?.root ?? options.workspaceRoot ?? kDefaultWorkspaceRoot;

  const handleOf = async (sandbox: Sandbox, workspaceRoot: string, signal?: AbortSignal) => {
    await client.mkdir(sandbox.id, workspaceRoot, { parents: true, signal });
    return new HutchHandle(name, capabilities, workspaceRoot, client, sandbox);
  };
  const specOf = (input: { id?: string; env?: Record<string, string> }): CreateSandbox => {
    const labels = { ...options.spec?.labels };
    if (input.id) labels[kInstanceKeyLabel] = input.id.slice(0, 200);
    return { ...options.spec, env: { ...options.env, ...input.env }, labels };
  };
  // A sandbox that failed while being set up is removed, not left behind.
  const settingUp = async (sandbox: Sandbox, workspaceRoot: string, signal?: AbortSignal) => {
    try {
      return await handleOf(sandbox, workspaceRoot, signal);
    } catch (error) {
      await client.deleteSandbox(sandbox.id).catch(() => {});
      throw error;
    }
  };

  return {
    name,
    client,
    capabilities: () => ({ ...capabilities }),
    create: async (input: SandboxCreateInput) => {
      const spec: CreateSandbox = { ...specOf(input), backend: backend.name };
      if (options.image) spec.image = options.image;
      const sandbox = await client.createSandbox(spec, { signal: input.signal });
      return settingUp(sandbox, workspaceRootOf(input), input.signal);
    },
    resume: async (input: SandboxResumeInput) => {
      let sandbox: Sandbox;
      try {
        sandbox = await client.getSandbox(input.id, { signal: input.signal });
      } catch (error) {
        if (error instanceof HutchError && error.code === 'not_found') return null;
        throw error;
      }
      if (sandbox.backend !== backend.name) return null;
      if (sandbox.state === 'stopped' || sandbox.state === 'expired') sandbox = await client.start(sandbox.id, { signal: input.signal });
      return new HutchHandle(name, capabilities, options.workspaceRoot ?? kDefaultWorkspaceRoot, client, sandbox);
    },
    restoreSnapshot: async (input: SandboxRestoreInput) => {
      const sandbox = await client.restoreSnapshot(input.snapshotId, specOf(input), { signal: input.signal });
      return settingUp(sandbox, workspaceRootOf(input), input.signal);
    },
    destroy: async (input: SandboxDestroyInput) => {
      await client.deleteSandbox(input.id, { signal: input.signal }).catch((error) => {
        if (!(error instanceof HutchError && error.code === 'not_found')) throw error;
      });
    },
  };
}
