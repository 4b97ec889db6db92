// The tests' service: a real `hutch serve` (tests/server/service_fixture.mjs starts it, with a
// Unix socket, a loopback TCP port and tokens) on the backend CTest names; and what a test needs
// to reach it through the package as built in dist/.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Service, tokens, env, namespacesUsable, tls, upgradeAndEcho } from '../../../tests/server/service_fixture.mjs';

export { Service, tokens, env, tls, upgradeAndEcho };

const required = (name) => ['1', 'true', 'yes'].includes(process.env[name] ?? '');

// Why the tests of this file are skipped, or false; throws when the skip is not allowed.
export async function skipReason() {
  if (env.backend === 'subcontainer' && !(await namespacesUsable())) {
    if (required('HUTCH_REQUIRE_NAMESPACES')) throw new Error('HUTCH_REQUIRE_NAMESPACES is set but user+mount namespaces are not usable');
    return 'user+mount namespaces are not usable here (set HUTCH_REQUIRE_NAMESPACES=1 to fail instead)';
  }
  if (env.backend === 'docker') {
    try {
      await promisify(execFile)('docker', ['image', 'inspect', dockerImage]);
    } catch (error) {
      if (required('HUTCH_REQUIRE_DOCKER')) throw new Error(`HUTCH_REQUIRE_DOCKER is set but docker or ${dockerImage} is not usable: ${error.message}`);
      return `docker or ${dockerImage} is not usable here (.ci/start-dockerd.sh, .ci/build-test-images.sh; HUTCH_REQUIRE_DOCKER=1 fails instead)`;
    }
  }
  return false;
}

// The image every test sandbox uses on this backend (docker: the busybox image
// .ci/build-test-images.sh imports).
const dockerImage = 'hutch-test-busybox:latest';
export const image = { subcontainer: 'host', docker: dockerImage }[env.backend];

// Connection options for the service over TCP (a remote client; https:// with the test CA when
// the service speaks TLS, HUTCH_SERVER_TEST_TLS) or over its Unix socket.
export const overTcp = (service, token = tokens.admin) =>
  (tls ? { host: `https://127.0.0.1:${service.port}`, token, ca: tls.ca } : { host: `tcp://127.0.0.1:${service.port}`, token });
export const overSocket = (service, token = tokens.admin) => ({ host: `unix://${service.socket}`, token });
