// The service's port proxy (/v1/sandboxes/{id}/ports/{port}/...) with a real server inside a
// sandbox whose network is "none": curl over TCP and over the Unix socket, a request body, a
// WebSocket-style upgrade relayed both ways, the token kept from the sandbox, errors for a
// closed port, no token and another tenant; and the provider's ports.connect URL used by fetch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { HutchClient } from '../dist/index.js';
import { hutchSandbox } from '../dist/tanstack.js';
import { Service, tokens, env, skipReason, image, overTcp, overSocket } from './fixture.mjs';

const run = promisify(execFile);
const skip = await skipReason();

// The server inside the sandbox: answers every request with what it saw; an upgrade is
// answered 101 and then echoes the bytes back.
const serverScript = `
const http = require('http');
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null, body }));
  });
});
server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
  socket.pipe(socket);
});
server.listen(8080, '127.0.0.1', () => console.log('listening'));
`;

// The same server where the image has no node (docker: busybox), as one exchange per
// connection of busybox nc -ll.
const shellServerScript = `
cr=$(printf '\\r')
read -r method url version
auth=null length=0 upgrade=
while read -r line; do
  line=\${line%"$cr"}
  [ -z "$line" ] && break
  case "$line" in
    [Aa]uthorization:*) auth="\\"\${line#*: }\\"" ;;
    [Cc]ontent-[Ll]ength:*) length=\${line#*: } ;;
    [Uu]pgrade:*) upgrade=1 ;;
  esac
done
if [ -n "$upgrade" ]; then
  printf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n'
  exec cat
fi
body=$(head -c "$length")
answer="{\\"method\\":\\"$method\\",\\"url\\":\\"$url\\",\\"authorization\\":$auth,\\"body\\":\\"$body\\"}"
printf 'HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: %s\\r\\nconnection: close\\r\\n\\r\\n%s' "\${#answer}" "$answer"
`;
const hasNode = env.backend !== 'docker';

async function curl(args) {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
  const at = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, at), status: Number(stdout.slice(at + 1)) };
}

describe(`port proxy on ${env.backend}`, { skip }, () => {
  let service;
  let client;
  let sandbox;
  let server;
  before(async () => {
    service = await Service.start();
    client = new HutchClient(overTcp(service));
    sandbox = await client.createSandbox({ image, network: 'none' });
    if (env.backend === 'fake') return;
    if (hasNode) {
      await client.writeFile(sandbox.id, '/tmp/server.js', serverScript);
      server = await client.stream(sandbox.id, { argv: ['node', '/tmp/server.js'] });
      const out = server.stdout[Symbol.asyncIterator]();
      assert.equal(Buffer.from((await out.next()).value).toString(), 'listening\n');
      return;
    }
    await client.writeFile(sandbox.id, '/tmp/server.sh', shellServerScript);
    server = await client.stream(sandbox.id, { argv: ['busybox', 'nc', '-ll', '-p', '8080', '-e', 'sh', '/tmp/server.sh'] });
    // Listening once the proxy gets an answer through it.
    for (let i = 0; ; ++i) {
      const answer = await fetch(`http://127.0.0.1:${service.port}/v1/sandboxes/${sandbox.id}/ports/8080/`,
        { headers: { authorization: `Bearer ${tokens.admin}` } });
      await answer.arrayBuffer();
      if (answer.status === 200) break;
      assert.ok(i < 100, `the server in the sandbox never answered (last: ${answer.status})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(async () => {
    await server?.kill('SIGKILL');
    await server?.wait().catch(() => {});
    client?.close();
    await service?.stop();
  });

  it('the backend says whether it can', async () => {
    const [backend] = (await client.backends()).filter((one) => one.name === env.backend);
    assert.equal(backend.capabilities.connect_port, env.backend !== 'fake');
  });

  it('without connect_port: 501 unsupported, naming the verb', { skip: env.backend !== 'fake' && 'the backend has connect_port' }, async () => {
    const answer = await curl(['-H', `Authorization: Bearer ${tokens.admin}`, `http://127.0.0.1:${service.port}/v1/sandboxes/${sandbox.id}/ports/8080/`]);
    assert.equal(answer.status, 501, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, 'unsupported');
    assert.match(JSON.parse(answer.body).error.message, /connect_port/);
  });

  describe('with a server in a network = "none" sandbox', { skip: env.backend === 'fake' && 'the fake has no network' }, () => {
    const url = (path) => `http://127.0.0.1:${service.port}/v1/sandboxes/${sandbox.id}/ports/8080${path}`;
    const auth = () => ['-H', `Authorization: Bearer ${tokens.admin}`];

    it('the sandbox has no way out: the service\'s port is not reachable from inside', async () => {
      const probe = await client.exec(sandbox.id, { argv: hasNode ? ['node', '-e',
        `require('net').connect(${service.port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(3))`]
        : ['sh', '-c', `busybox nc -w 2 127.0.0.1 ${service.port} </dev/null || exit 3`] });
      assert.equal(probe.exit_code, 3, probe.stderr);
    });

    it('GET over TCP: path and query passed on, the token not', async () => {
      const answer = await curl([...auth(), url('/some/path?x=1&y=two')]);
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { method: 'GET', url: '/some/path?x=1&y=two', authorization: null, body: '' });
      const root = await curl([...auth(), url('')]);
      assert.equal(JSON.parse(root.body).url, '/');
    });

    it('POST with a body, over the Unix socket', async () => {
      const answer = await curl([...auth(), '--unix-socket', service.socket, '-X', 'POST', '--data-binary', 'a body',
        `http://localhost/v1/sandboxes/${sandbox.id}/ports/8080/submit`]);
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { method: 'POST', url: '/submit', authorization: null, body: 'a body' });
    });

    it('a large body both ways, and the time of a proxied request', async (t) => {
      const big = 'x'.repeat(6 << 20);
      const response = await fetch(url('/big'), { method: 'PUT', body: big, headers: { authorization: `Bearer ${tokens.admin}` } });
      assert.equal(response.status, 200);
      const echoed = await response.json();
      assert.equal(echoed.body.length, big.length);
      assert.ok(echoed.body === big, 'the body came back changed');
      const started = process.hrtime.bigint();
      const rounds = 50;
      for (let i = 0; i < rounds; ++i) {
        const answer = await fetch(url(`/n${i}`), { headers: { authorization: `Bearer ${tokens.admin}` } });
        assert.equal((await answer.json()).url, `/n${i}`);
      }
      t.diagnostic(`proxied GET over TCP: ${(Number(process.hrtime.bigint() - started) / 1e6 / rounds).toFixed(2)} ms each (${rounds} in a row)`);
    });

    it('an upgrade is relayed both ways', async () => {
      const socket = connect(service.port, '127.0.0.1');
      let received = '';
      socket.on('data', (data) => (received += data));
      socket.write(`GET /v1/sandboxes/${sandbox.id}/ports/8080/ws HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.admin}\r\n` +
        'Connection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      const until = async (needle) => {
        for (let i = 0; i < 100 && !received.includes(needle); ++i) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(received.includes(needle), `'${needle}' not in: ${received}`);
      };
      await until('101 Switching Protocols');
      socket.write('ping through the proxy');
      await until('ping through the proxy');
      socket.end();
      await new Promise((resolve) => socket.on('close', resolve));
    });

    it('errors: nothing on the port, no token, another tenant, a bad port', async () => {
      const closed = await curl([...auth(), url('/').replace('/8080/', '/8081/')]);
      assert.equal(closed.status, 500, closed.body);
      assert.equal(JSON.parse(closed.body).error.code, 'io');
      assert.match(JSON.parse(closed.body).error.message, /port 8081/);
      assert.equal((await curl([url('/')])).status, 401);
      assert.equal((await curl(['-H', `Authorization: Bearer ${tokens.bob}`, url('/')])).status, 404);
      const bad = await curl([...auth(), url('/').replace('/8080/', '/0/')]);
      assert.equal(bad.status, 400, bad.body);
    });

    it('the provider\'s ports.connect gives a URL that fetch reaches with the channel\'s headers', async () => {
      const provider = await hutchSandbox({ ...overTcp(service), backend: env.backend });
      assert.equal(provider.capabilities().ports, true);
      const handle = await provider.resume({ id: sandbox.id });
      const channel = await handle.ports.connect(8080);
      assert.equal(channel.token, tokens.admin);
      const response = await fetch(`${channel.url}hello`, { headers: channel.headers });
      assert.equal(response.status, 200);
      assert.equal((await response.json()).url, '/hello');
      provider.client.close();
      const local = await hutchSandbox({ ...overSocket(service), backend: env.backend });
      assert.equal(local.capabilities().ports, false, 'a Unix socket gives no URL');
      local.client.close();
    });
  });
});
