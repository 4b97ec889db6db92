// Every long-lived stream counts under [serve] max_streams (server/caps.hpp), holding its place
// for as long as it streams and giving it back however it ends, through a real `hutch serve`
// with max_streams = 1 on HUTCH_SERVER_TEST_BACKEND: a followed event stream (GET /v1/events),
// an attachment to a background process, a streamed exec whose client went away, E2B's
// server-streaming calls (Process Start and Connect, Filesystem WatchDir) and the port proxy.
// For each: a second stream is refused (429, or E2B's resource_exhausted) while the first is
// open, and one is taken again once the first has ended.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Service, tokens, env, backendSkip, retriedWhile429 } from './service_fixture.mjs';
import { stream } from './stream_client.mjs';
import { EventStream } from './event_stream.mjs';

const skip = await backendSkip();
const admin = tokens.admin;
const capReached = 'max_streams = 1 reached';

function expectRefused(status, headers, message) {
  assert.equal(status, 429, message);
  assert.ok(message.includes(capReached), message);
  assert.equal(headers['retry-after'] ?? headers.get?.('retry-after'), '1');
}

// A WebSocket to `path` over TCP: {ws, closed} once open, or the refused upgrade's
// {httpStatus, headers, body}.
function openSocket(service, path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${service.port}${path}`, { headers: { authorization: `Bearer ${admin}` } });
    const closed = new Promise((resolveClosed) => ws.on('close', resolveClosed));
    ws.on('open', () => resolve({ ws, closed }));
    ws.on('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (data) => { body += data; });
      response.on('end', () => resolve({ httpStatus: response.statusCode, headers: response.headers, body: JSON.parse(body) }));
    });
    ws.on('error', reject);
  });
}

// The first message of a streamed exec, once it is the `started` one.
function started(ws) {
  return new Promise((resolve) => ws.on('message', (data, binary) => { if (!binary && JSON.parse(data).type === 'started') resolve(); }));
}

// One of envd's server-streaming calls (Connect's envelopes over JSON), read until its first
// message or its end: {messages, end, abort()}.
async function connectCall(service, sandbox, method, message) {
  const payload = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${service.port}/e2b/envd/${method}`, {
    method: 'POST', body: Buffer.concat([head, payload]), signal: controller.signal,
    headers: { 'content-type': 'application/connect+json', 'e2b-sandbox-id': sandbox.sandboxID,
      'x-access-token': sandbox.envdAccessToken, 'keepalive-ping-interval': '1' },
  });
  assert.equal(response.status, 200);
  const call = { messages: [], end: null, abort: () => controller.abort() };
  const reader = response.body.getReader();
  let buffered = Buffer.alloc(0);
  while (call.messages.length === 0 && !call.end) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered = Buffer.concat([buffered, value]);
    while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
      const size = buffered.readUInt32BE(1);
      const body = JSON.parse(buffered.subarray(5, 5 + size).toString());
      if (buffered[0] & 2) call.end = body;
      else call.messages.push(body);
      buffered = buffered.subarray(5 + size);
    }
  }
  return call;
}
const e2bRefused = (call) => call.end?.error?.code === 'resource_exhausted';
function expectE2bRefused(call) {
  assert.ok(e2bRefused(call), JSON.stringify(call));
  assert.ok(call.end.error.message.includes(capReached), call.end.error.message);
}

describe(`every stream under max_streams on ${env.backend}`, { skip }, () => {
  let service, id;
  before(async () => {
    service = await Service.start({ serveTable: 'max_streams = 1\nevents_keepalive = "200ms"' });
    const created = await service.curl('POST', '/v1/sandboxes', { token: admin, json: { image: 'host', network: 'none' } });
    assert.equal(created.status, 201, created.text);
    id = created.json.id;
  });
  after(async () => {
    if (id) await service.curl('DELETE', `/v1/sandboxes/${id}`, { token: admin });
    await service?.stop();
  });

  it('GET /v1/events holds a place until its client leaves', async () => {
    const first = await retriedWhile429(() => EventStream.open(service, { token: admin }));
    assert.equal(first.status, 200, first.text);
    const second = await EventStream.open(service, { token: admin });
    assert.equal(second.status, 429, second.text);
    assert.ok(second.text.includes(capReached), second.text);
    first.controller.abort();
    // The service notices at its next keep-alive (200 ms here).
    const again = await retriedWhile429(() => EventStream.open(service, { token: admin }));
    assert.equal(again.status, 200, again.text);
    again.controller.abort();
  });

  it('an attachment to a background process holds a place until it detaches', async () => {
    const process = await service.curl('POST', `/v1/sandboxes/${id}/processes`, { token: admin, json: { argv: ['sleep', '60'] } });
    assert.equal(process.status, 201, process.text);
    const path = `/v1/sandboxes/${id}/processes/${process.json.pid}`;
    try {
      const first = await retriedWhile429(() => openSocket(service, path));
      assert.ok(first.ws, JSON.stringify(first));
      const second = await openSocket(service, path);
      expectRefused(second.httpStatus, second.headers, second.body.error.message);
      first.ws.close();
      await first.closed;
      const again = await retriedWhile429(() => openSocket(service, path));
      assert.ok(again.ws, JSON.stringify(again));
      again.ws.close();
      await again.closed;
    } finally {
      await service.curl('POST', `${path}/signal`, { token: admin, json: { signal: 9 } });
    }
  });

  it('a streamed exec whose client went away gives its place back though the command is silent', async () => {
    const url = `ws://127.0.0.1:${service.port}/v1/sandboxes/${id}/exec`;
    // `cat` writes nothing until it reads: only the client's leaving can end it.
    const gone = await retriedWhile429(() => stream(url, { argv: ['cat'] }, {
      script: async (ws) => {
        await started(ws);
        ws.terminate();
      },
    }));
    assert.equal(gone.started, true, JSON.stringify(gone));
    const again = await retriedWhile429(() => stream(url, { argv: ['echo', 'again'] }));
    assert.equal(again.stdoutText, 'again\n', JSON.stringify(again));
  });

  it("E2B's Process Start, Connect and Filesystem WatchDir each hold a place while they stream", async () => {
    const response = await fetch(`http://127.0.0.1:${service.port}/e2b/sandboxes`, {
      method: 'POST', headers: { 'x-api-key': admin, 'content-type': 'application/json' }, body: JSON.stringify({ templateID: 'base' }),
    });
    assert.equal(response.status, 201);
    const sandbox = await response.json();
    try {
      const start = await retriedWhile429(() => connectCall(service, sandbox, 'process.Process/Start', { process: { cmd: 'sleep', args: ['60'], cwd: '/tmp' } }), 2, e2bRefused);
      const pid = start.messages[0]?.event?.start?.pid;
      assert.ok(pid, JSON.stringify(start));
      expectE2bRefused(await connectCall(service, sandbox, 'process.Process/Start', { process: { cmd: 'true' } }));
      expectE2bRefused(await connectCall(service, sandbox, 'filesystem.Filesystem/WatchDir', { path: '/tmp' }));
      start.abort();
      // The service notices at its next keep-alive events (1 s apart, as the call asked).
      const watch = await retriedWhile429(() => connectCall(service, sandbox, 'filesystem.Filesystem/WatchDir', { path: '/tmp' }), 5, e2bRefused);
      assert.ok(watch.messages[0]?.start, JSON.stringify(watch));
      expectE2bRefused(await connectCall(service, sandbox, 'process.Process/Connect', { process: { pid } }));
      watch.abort();
      // WatchDir's keep-alive comes every 5 s; the first write to a closed connection may still
      // succeed, the next one fails: up to two of them.
      const follow = await retriedWhile429(() => connectCall(service, sandbox, 'process.Process/Connect', { process: { pid } }), 13, e2bRefused);
      assert.equal(follow.messages[0]?.event?.start?.pid, pid, JSON.stringify(follow));
      follow.abort();
    } finally {
      await service.curl('DELETE', `/v1/sandboxes/${sandbox.sandboxID}`, { token: admin });
    }
  });

  it('a connection through the port proxy holds a place until it closes', { skip: env.backend === 'fake' && 'the fake backend has no Handle::connect_port (runs on subcontainer)' }, async () => {
    const script = join(service.dir, 'server.js');
    writeFileSync(script, `require('http').createServer((req, res) => res.end('hello')).on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
      socket.pipe(socket);
    }).listen(8080, '127.0.0.1');`);
    assert.equal((await service.curl('PUT', `/v1/sandboxes/${id}/files?path=/tmp/server.js`, { token: admin, upload: script })).status, 200);
    const server = await service.curl('POST', `/v1/sandboxes/${id}/processes`, { token: admin, json: { argv: ['node', '/tmp/server.js'] } });
    assert.equal(server.status, 201, server.text);
    const proxied = () => service.curl('GET', `/v1/sandboxes/${id}/ports/8080/`, { token: admin, validate: false });
    try {
      const ready = await retriedWhile429(proxied, 10, (result) => result.status !== 200);
      assert.equal(ready.text, 'hello');
      // An upgraded connection, held open. Retried while refused: the plain request before
      // gives its place back only once the service has seen its connection close.
      const upgrade = () => new Promise((resolve) => {
        const socket = connect(service.port, '127.0.0.1');
        let received = '';
        socket.on('data', (data) => {
          received += data;
          if (!received.includes('\r\n\r\n')) return;
          const status = Number(received.split(' ')[1]);
          if (status === 429) socket.destroy();
          resolve({ socket, received, status });
        });
        socket.write(`GET /v1/sandboxes/${id}/ports/8080/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\n` +
          'Upgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      });
      const { socket, received } = await retriedWhile429(upgrade);
      assert.match(received, /^HTTP\/1\.1 101 /);
      const second = await proxied();
      assert.equal(second.status, 429, second.text);
      assert.ok(second.json.error.message.includes(capReached), second.text);
      socket.end();
      await new Promise((resolve) => socket.on('close', resolve));
      const again = await retriedWhile429(proxied);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.text, 'hello');
    } finally {
      await service.curl('POST', `/v1/sandboxes/${id}/processes/${server.json.pid}/signal`, { token: admin, json: { signal: 9 } });
    }
  });
});
