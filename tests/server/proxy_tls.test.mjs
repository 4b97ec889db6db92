// The port proxy over TLS (run with HUTCH_SERVER_TEST_TLS on subcontainer): curl reaches a
// server in a `network = "none"` sandbox through https://…/ports/8080/, request after request
// (each proxied connection is closed by the service after its answer), and an upgrade is relayed
// both ways over the TLS connection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { Service, tokens, env, backendSkip, tls, wsScheme } from './service_fixture.mjs';
import { stream } from './stream_client.mjs';

const skip = (await backendSkip()) || (tls ? false : 'runs with HUTCH_SERVER_TEST_TLS only');
const run = promisify(execFile);

const serverScript = `
const http = require('http');
const server = http.createServer((req, res) => res.end('hello from ' + req.url + '\\n'));
server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
  socket.pipe(socket);
});
server.listen(8080, '127.0.0.1', () => console.log('listening'));
`;

describe(`the port proxy over TLS on ${env.backend}`, { skip }, () => {
  const admin = { token: tokens.admin };
  let service, id, server, stopServer;
  before(async () => {
    service = await Service.start();
    const created = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { image: 'host', network: 'none' } });
    assert.equal(created.status, 201, created.text);
    id = created.json.id;
    const script = join(service.dir, 'server.js');
    writeFileSync(script, serverScript);
    assert.equal((await service.curl('PUT', `/v1/sandboxes/${id}/files?path=/tmp/server.js`, { ...admin, upload: script })).status, 200);
    // The server runs as a streamed command, held until the tests are done.
    let listening;
    const ready = new Promise((resolve) => { listening = resolve; });
    server = stream(`${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${id}/exec`, { argv: ['node', '/tmp/server.js'] }, {
      script: async (ws) => {
        ws.on('message', (data, binary) => { if (binary && data.subarray(1).toString().includes('listening')) listening(); });
        stopServer = () => ws.send(JSON.stringify({ type: 'signal', signal: 9 }));
      },
    });
    await ready;
  });
  after(async () => {
    stopServer?.();
    await server;
    await service?.stop();
  });

  it('relays requests one after another, each on its own TLS connection', async () => {
    for (const path of ['/a?b=1', '/second', '/third']) {
      const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--cacert', join(tls.dir, 'ca.pem'),
        '-H', `Authorization: Bearer ${tokens.admin}`, `https://127.0.0.1:${service.port}/v1/sandboxes/${id}/ports/8080${path}`]);
      assert.equal(stdout, `hello from ${path}\n`);
    }
  });

  it('relays an upgrade both ways', async () => {
    const socket = connect({ host: '127.0.0.1', port: service.port, ca: tls.ca });
    await new Promise((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
    socket.write(`GET /v1/sandboxes/${id}/ports/8080/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.admin}\r\n` +
      'Upgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    let received = '';
    await new Promise((resolve) => socket.on('data', (data) => {
      received += data;
      if (received.includes('\r\n\r\n') && !received.includes('ping')) socket.write('ping through TLS');
      if (received.includes('ping through TLS')) resolve();
    }));
    assert.match(received, /^HTTP\/1\.1 101 Switching Protocols/);
    socket.end();
  });
});
