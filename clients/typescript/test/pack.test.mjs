// The package as users get it: `npm pack`, the tarball installed into a scratch project (with the
// pinned TanStack peer), and the README's example run there, unchanged, against a live service
// reached through HUTCH_HOST / HUTCH_TOKEN.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Service, tokens, skipReason } from './fixture.mjs';

const run = promisify(execFile);
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = await skipReason();

describe('npm pack -> install -> the README example', { skip }, () => {
  let service;
  let scratch;
  before(async () => {
    service = await Service.start({ backend: 'subcontainer' });
    scratch = mkdtempSync(join(tmpdir(), 'hutch-sandbox-pack-'));
  });
  after(async () => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await service?.stop();
  });

  it('installs from the tarball and runs the example', { timeout: 240000 }, async () => {
    // dist/ is built (CTest's typescript.build): no prepack rebuild here.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch], { cwd: packageDir });
    const [tarball] = readdirSync(scratch).filter((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made no tarball');
    const { stdout: listing } = await run('tar', ['tzf', join(scratch, tarball)]);
    for (const file of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/tanstack.js', 'package/dist/tanstack.d.ts', 'package/README.md'])
      assert.ok(listing.split('\n').includes(file), `${file} not in the tarball:\n${listing}`);
    assert.ok(!listing.includes('package/test/'), 'the tests are in the tarball');

    const project = join(scratch, 'project');
    await run('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    const pinned = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).devDependencies;
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(scratch, tarball),
      `@tanstack/ai-sandbox@${pinned['@tanstack/ai-sandbox']}`, `@tanstack/ai@${pinned['@tanstack/ai']}`], { cwd: project });

    const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, 'no ```js example in README.md');
    writeFileSync(join(project, 'example.mjs'), example);
    const { stdout } = await run('node', ['example.mjs'], {
      cwd: project, env: { ...process.env, HUTCH_HOST: `tcp://127.0.0.1:${service.port}`, HUTCH_TOKEN: tokens.admin },
    });
    assert.equal(stdout, '0 written through hutch\nhello from /workspace\n\n');
  });
});
