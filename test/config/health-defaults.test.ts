// The default health check timeout is a few seconds, capped by the interval: never the
// interval itself (with interval: 10m, a check that never answers held reloads for 10 min).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue } from '../../src/config/load.js';
import type { HealthCheck } from '../../src/config/types.js';
import { loadLines, removeTempConfigs } from './temp-config.js';

after(() => removeTempConfigs());

async function healthOf(health: string): Promise<HealthCheck> {
  const { result } = await loadLines([
    'frontends:',
    '  web: { bind: 127.0.0.1:8080, default_backend: app }',
    'backends:',
    '  app:',
    `    health: ${health}`,
    '    servers: [ { name: a, address: 127.0.0.1:9001 } ]',
  ]);
  assert.ok(result.ok, result.ok ? '' : result.errors.map(formatIssue).join('\n'));
  return result.config.backends[0]!.health!;
}

test('health timeout defaults to 2 s, capped by the interval; an explicit one is kept', async () => {
  assert.equal((await healthOf('{ type: http, interval: 10m }')).timeout, 2_000);
  assert.equal((await healthOf('{ interval: 5s }')).timeout, 2_000);
  assert.equal((await healthOf('{ interval: 500ms }')).timeout, 500);
  assert.equal((await healthOf('{}')).timeout, 2_000);
  assert.equal((await healthOf('{ interval: 10m, timeout: 30s }')).timeout, 30_000);
});
