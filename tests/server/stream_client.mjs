// The client side of a streamed exec (GET /v1/sandboxes/{id}/exec as a WebSocket,
// server/STREAMS.md) for the API tests, with the ws package; wss:// with the test CA when the
// service speaks TLS (service_fixture.mjs).
import WebSocket from 'ws';
import { tokens, tls } from './service_fixture.mjs';

// One streamed command: sends `request` (and then `script(ws)` runs), collects stdout, stderr,
// the exit message and any error messages until the server closes.
export function stream(url, request, { token = tokens.admin, socketPath, script, pauseReading } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, socketPath, ...(tls ? { ca: tls.ca } : {}) });
    const result = { stdout: [], stderr: [], errors: [], exit: null, started: false, frames: 0 };
    ws.on('open', async () => {
      ws.send(JSON.stringify({ type: 'request', ...request }));
      if (pauseReading) {
        ws._socket.pause();
        setTimeout(() => ws._socket.resume(), pauseReading);
      }
      if (script) await script(ws);
    });
    ws.on('message', (data, binary) => {
      if (binary) {
        if (!result.started) reject(new Error('output came before the started message'));
        result.frames++;
        const id = data[0];
        const payload = data.subarray(1);
        if (id === 1) result.stdout.push(payload);
        else if (id === 2) result.stderr.push(payload);
        else reject(new Error(`a frame with stream id ${id}`));
      } else {
        const message = JSON.parse(data.toString());
        if (message.type === 'started') {
          if (result.started || result.frames > 0) reject(new Error(`a late or second started message: ${data}`));
          result.started = true;
        } else if (message.type === 'exit') result.exit = message;
        else if (message.type === 'error') result.errors.push(message.error);
        else reject(new Error(`unexpected message ${data}`));
      }
    });
    ws.on('close', (code) => {
      const stdout = Buffer.concat(result.stdout);
      const stderr = Buffer.concat(result.stderr);
      resolve({ ...result, stdout, stderr, code, stdoutText: stdout.toString(), stderrText: stderr.toString() });
    });
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ httpStatus: res.statusCode, headers: res.headers, body: JSON.parse(body) }));
    });
    ws.on('error', reject);
  });
}
