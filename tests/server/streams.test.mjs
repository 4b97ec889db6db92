// The streamed exec (GET /v1/sandboxes/{id}/exec as a WebSocket, server/STREAMS.md) through a
// real `hutch serve`, with the ws package as the client, over loopback TCP (or TLS, see
// service_fixture.mjs) and the Unix socket.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Service, tokens, env, expectError, backendSkip, wsScheme } from './service_fixture.mjs';
import { stream } from './stream_client.mjs';

const skip = await backendSkip();

describe(`streamed exec on ${env.backend}`, { skip }, () => {
  let service;
  let id;
  before(async () => {
    service = await Service.start();
    const created = await service.curl('POST', '/v1/sandboxes', { token: tokens.admin, json: { image: 'host', env: { WHO: 'stream' } } });
    assert.equal(created.status, 201, created.text);
    id = created.json.id;
  });
  after(async () => { await service?.stop(); });
  const url = () => `${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${id}/exec`;

  it('streams stdout and stderr apart and ends with the exit message', async () => {
    const result = await stream(url(), { argv: ['printenv', 'WHO'] });
    assert.equal(result.stdoutText, 'stream\n');
    assert.equal(result.started, true, "no started message before the output");
    assert.equal(result.exit.exit_code, 0);
    assert.equal(result.exit.timed_out, false);
    assert.equal(result.code, 1000);
    const failed = await stream(url(), { argv: ['printenv', 'NOT_SET_ANYWHERE'] });
    assert.equal(failed.exit.exit_code, 1);
  });

  it('passes stdin frames to the command until close_stdin, over the Unix socket too', async () => {
    const script = async (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('first line\n')]));
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from([0xff, 0x00, 0x41])]));
      ws.send(JSON.stringify({ type: 'close_stdin' }));
    };
    const result = await stream(url(), { argv: ['cat'] }, { script });
    assert.deepEqual(result.stdout, Buffer.concat([Buffer.from('first line\n'), Buffer.from([0xff, 0x00, 0x41])]));
    assert.equal(result.exit.exit_code, 0);
    const overSocket = await stream(`ws+unix://${service.socket}:/v1/sandboxes/${id}/exec`, { argv: ['cat'] }, { script });
    assert.equal(overSocket.stdout.subarray(0, 11).toString(), 'first line\n');
    assert.equal(overSocket.exit.exit_code, 0);
  });

  it('sends a signal to the command', async () => {
    const script = async (ws) => {
      await new Promise((r) => setTimeout(r, 300));
      ws.send(JSON.stringify({ type: 'signal', signal: 9 }));
    };
    const result = await stream(url(), { argv: ['sleep', '30'] }, { script });
    assert.equal(result.exit.signal, 9, JSON.stringify(result.exit));
    assert.equal(result.exit.exit_code, null);
  });

  it('answers bad messages with an error message naming what is wrong', async () => {
    const noRequest = await stream(url(), { argv: [] });
    assert.equal(noRequest.errors[0].code, 'invalid_argument');
    assert.ok(noRequest.errors[0].message.includes("field 'argv'"), noRequest.errors[0].message);
    assert.equal(noRequest.code, 1008);
    const script = async (ws) => {
      ws.send(Buffer.from([7, 65]));
      ws.send(JSON.stringify({ type: 'dance' }));
      ws.send(JSON.stringify({ type: 'close_stdin' }));
    };
    const result = await stream(url(), { argv: ['cat'] }, { script });
    assert.deepEqual(result.errors.map((e) => e.code), ['invalid_argument', 'invalid_argument']);
    assert.ok(result.errors[0].message.includes('stream id 0'));
    assert.ok(result.errors[1].message.includes("'dance'"));
    assert.equal(result.exit.exit_code, 0);
  });

  it('refuses a stream without a token, to another tenant, and without an upgrade', async () => {
    const anonymous = await stream(url(), { argv: ['echo'] }, { token: 'nobody-knows-this-token' });
    assert.equal(anonymous.httpStatus, 401);
    assert.equal(anonymous.body.error.code, 'unauthenticated');
    const bob = await stream(url(), { argv: ['echo'] }, { token: tokens.bob });
    assert.equal(bob.httpStatus, 404);
    expectError(await service.curl('GET', `/v1/sandboxes/${id}/exec`, { token: tokens.admin }), 400, 'invalid_argument', 'Upgrade');
  });

  it('slows a command down to a slow reader instead of buffering its output', async () => {
    // 64 MiB of output while the client does not read for 2 s: the service may hold only its
    // socket buffers and one frame, so its peak RSS stays far below the output's size.
    const { readFileSync } = await import('node:fs');
    const rss = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${service.process.pid}/status`, 'utf8'))[1]) * 1024;
    const before = rss();
    const size = 64 * 1024 * 1024;
    const argv = env.backend === 'fake' ? ['yes-flood', String(size)] : ['head', '-c', String(size), '/dev/zero'];
    const result = await stream(url(), { argv }, { pauseReading: 2000 });
    assert.equal(result.stdout.length, size);
    assert.equal(result.exit.exit_code, 0);
    const grown = rss() - before;
    assert.ok(grown < 24 * 1024 * 1024, `the service's peak RSS grew by ${grown} bytes for ${size} bytes of output`);
  });

  // A raw WebSocket client on the Unix socket, so the frames themselves are seen (ws joins
  // fragments). `pipelined` writes the request frame in the same write as the upgrade request;
  // otherwise it waits for the 101, as RFC 6455 4.1 tells a client to. Resolves with the frames
  // received up to the close frame.
  async function rawExec(argv, { pipelined = false } = {}) {
    const net = await import('node:net');
    const request = Buffer.from(JSON.stringify({ type: 'request', argv }));
    const mask = Buffer.from([1, 2, 3, 4]);
    const head = request.length < 126 ? Buffer.from([0x81, 0x80 | request.length]) : Buffer.from([0x81, 0x80 | 126, request.length >> 8, request.length & 255]);
    const frame = Buffer.concat([head, mask, Buffer.from(request.map((byte, i) => byte ^ mask[i % 4]))]);
    const upgrade = Buffer.from(`GET /v1/sandboxes/${id}/exec HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${tokens.admin}\r\n\r\n`);
    const socket = net.connect(service.socket);
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    socket.write(pipelined ? Buffer.concat([upgrade, frame]) : upgrade);
    const frames = [];
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    await new Promise((resolve, reject) => {
      socket.on('data', (data) => {
        buffer = Buffer.concat([buffer, data]);
        if (!upgraded) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!buffer.subarray(0, 12).toString().includes('101')) return reject(new Error(buffer.toString()));
          upgraded = true;
          buffer = buffer.subarray(end + 4);
          if (!pipelined) socket.write(frame);
        }
        for (;;) {
          if (buffer.length < 2) return;
          let length = buffer[1] & 127, at = 2;
          if (length === 126) { if (buffer.length < 4) return; length = buffer.readUInt16BE(2); at = 4; }
          else if (length === 127) { if (buffer.length < 10) return; length = Number(buffer.readBigUInt64BE(2)); at = 10; }
          if (buffer.length < at + length) return;
          frames.push({ fin: (buffer[0] & 0x80) !== 0, opcode: buffer[0] & 15, length, payload: buffer.subarray(at, at + length) });
          buffer = buffer.subarray(at + length);
          if ((frames.at(-1).opcode) === 8) { socket.end(); return resolve(); }
        }
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`the socket closed after ${frames.length} frames, before a close frame`)));
    });
    return frames;
  }

  it('sends each message as one frame: output is not cut into the 4 KiB frames of a write buffer', async () => {
    const size = 1024 * 1024;
    const argv = env.backend === 'fake' ? ['yes-flood', String(size)] : ['head', '-c', String(size), '/dev/zero'];
    const frames = await rawExec(argv);
    const output = frames.filter((f) => f.opcode === 2 || f.opcode === 0);
    assert.equal(output.reduce((sum, f) => sum + f.length - (f.opcode === 2 ? 1 : 0), 0), size);
    assert.deepEqual(output.filter((f) => !f.fin || f.opcode !== 2), [], 'fragmented output messages');
    assert.ok(Math.max(...output.map((f) => f.length)) > 4097, `the largest output frame has ${Math.max(...output.map((f) => f.length))} bytes`);
  });

  it('runs a request frame that came in the same write as the upgrade request', async () => {
    // Read together with the HTTP header, the frame was once lost and the stream waited forever.
    const frames = await rawExec(['echo', 'pipelined'], { pipelined: true });
    const exit = frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString())).find((m) => m.type === 'exit');
    assert.equal(exit?.exit_code, 0, JSON.stringify(frames.map((f) => f.payload.toString())));
    const stdout = Buffer.concat(frames.filter((f) => f.opcode === 2 && f.payload[0] === 1).map((f) => f.payload.subarray(1))).toString();
    assert.equal(stdout, 'pipelined\n');
  });
});

describe(`SIGTERM drains the service on ${env.backend}`, { skip }, () => {
  const admin = { token: tokens.admin };
  // Starts a service with a sandbox and a streamed `sleep 60` in it; resolves once it started.
  async function serviceWithStream(extraArgs = []) {
    const service = await Service.start({ extraArgs });
    const created = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { image: 'host' } });
    assert.equal(created.status, 201, created.text);
    const url = `${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${created.json.id}/exec`;
    let started;
    const running = new Promise((resolve) => { started = resolve; });
    const streamed = stream(url, { argv: ['sleep', '60'] }, {
      script: async (ws) => ws.on('message', (data, binary) => { if (!binary && JSON.parse(data).type === 'started') started(); }),
    });
    await running;
    return { service, id: created.json.id, streamed };
  }
  const listedByBackend = async (service) => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)(env.hutch, ['--config', service.config, '--json', 'ls']);
    return JSON.parse(stdout).map((s) => s.id);
  };

  it('ends streams with their exit message and a normal close, exits 0, and keeps the sandboxes', async () => {
    const { service, id, streamed } = await serviceWithStream();
    try {
      const before = Date.now();
      service.process.kill('SIGTERM');
      const result = await streamed;
      assert.equal(result.code, 1000, 'the stream did not end with a normal close');
      assert.equal(result.exit?.signal, 9, `no exit message for the ended command: ${JSON.stringify(result.exit)}`);
      const { code } = await service.exited;
      assert.equal(code, 0, service.stderr);
      assert.ok(Date.now() - before < 10000, 'the drain took longer than 10 s');
      assert.deepEqual(await listedByBackend(service), [id], 'the sandbox did not stay');
    } finally {
      await service.stop();
    }
  });

  it('removes the sandboxes it made with --destroy-on-exit', async () => {
    const { service, streamed } = await serviceWithStream(['--destroy-on-exit']);
    try {
      service.process.kill('SIGTERM');
      await streamed;
      assert.equal((await service.exited).code, 0, service.stderr);
      assert.deepEqual(await listedByBackend(service), [], 'a sandbox outlived --destroy-on-exit');
    } finally {
      await service.stop();
    }
  });
});
