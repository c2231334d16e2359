// Durations, sizes, addresses, host patterns, status ranges and header templates as written in the config.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HandoffError } from '../../src/lib/errors.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { formatSize, parseSize } from '../../src/config/size.js';
import { canonicalIPv6, parseAddress, parseBind } from '../../src/config/address.js';
import { hostMatches, parseHostPattern } from '../../src/config/host-pattern.js';
import { parseStatusRange } from '../../src/config/status-range.js';
import { expandHeaderTemplate, parseHeaderTemplate } from '../../src/config/header-rules.js';

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HandoffError, String(err));
    assert.equal(err.code, 'HANDOFF_ERR_CONFIG');
    assert.match(err.message, message);
    return true;
  });
}

describe('durations', () => {
  test('units and combinations', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('0s'), 0);
  });

  test('rejected with a precise message', () => {
    rejects(() => parseDuration('5'), /expected a duration with a unit \(250ms, 5s, 2m, 1h\), got "5": a bare number has no unit/);
    rejects(() => parseDuration(5), /got 5: a bare number has no unit$/);
    rejects(() => parseDuration('-5s'), /cannot be negative/);
    rejects(() => parseDuration('5d'), /unknown unit "d"/);
    rejects(() => parseDuration('5constructor'), /unknown unit "constructor"/);
    rejects(() => parseDuration('s'), /got "s"$/);
    rejects(() => parseDuration(''), /got an empty string/);
    rejects(() => parseDuration('1000h'), /too long/);
  });

  test('format round-trips', () => {
    for (const text of ['250ms', '5s', '1m30s', '1h', '2h5m1s']) assert.equal(formatDuration(parseDuration(text)), text);
  });
});

describe('sizes', () => {
  test('units and plain bytes', () => {
    assert.equal(parseSize('8k'), 8192);
    assert.equal(parseSize('64K'), 65536);
    assert.equal(parseSize('1m'), 1048576);
    assert.equal(parseSize(4096), 4096);
    assert.equal(parseSize('512'), 512);
    assert.equal(formatSize(8192), '8k');
    assert.equal(formatSize(1000), '1000');
  });

  test('rejected', () => {
    rejects(() => parseSize('8kb'), /unknown unit "kb"/);
    rejects(() => parseSize(0), /at least 1/);
    rejects(() => parseSize(1.5), /at least 1|size in bytes/);
    rejects(() => parseSize('-1k'), /expected a size in bytes/);
  });
});

describe('addresses', () => {
  test('IPv4 and IPv6 with canonical keys', () => {
    assert.deepEqual(parseAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080, family: 4, key: '127.0.0.1:8080' });
    assert.deepEqual(parseAddress('[::1]:8080'), { host: '::1', port: 8080, family: 6, key: '[::1]:8080' });
    assert.equal(parseAddress('[0:0:0:0:0:0:0:1]:80').key, '[::1]:80');
    assert.equal(parseAddress('[2001:DB8:0:0:1:0:0:1]:80').key, '[2001:db8::1:0:0:1]:80');
    assert.equal(parseAddress('0.0.0.0:80').key, '0.0.0.0:80');
    assert.equal(parseAddress('[::]:80').key, '[::]:80');
    assert.equal(canonicalIPv6('::FFFF:1.2.3.4'), '::ffff:1.2.3.4');
  });

  test('bind port ranges expand', () => {
    assert.deepEqual(
      parseBind('127.0.0.1:8000-8003').map((a) => a.key),
      ['127.0.0.1:8000', '127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8003'],
    );
    assert.equal(parseBind('[::1]:9000-9999').length, 1000);
    rejects(() => parseBind('[::1]:9000-10000'), /at most 1000 ports/);
    rejects(() => parseBind('127.0.0.1:8003-8000'), /inverted/);
  });

  test('rejected', () => {
    rejects(() => parseAddress('localhost:80'), /host names are not accepted, use an IP literal/);
    rejects(() => parseAddress('127.0.0.1'), /missing port/);
    rejects(() => parseAddress('127.0.0.1:0'), /port 0 is out of range \(1-65535\)/);
    rejects(() => parseAddress('127.0.0.1:65536'), /out of range/);
    rejects(() => parseAddress('::1:80'), /needs brackets/);
    rejects(() => parseAddress('[127.0.0.1]:80'), /not an IPv6 address/);
    rejects(() => parseAddress('[fe80::1%eth0]:80'), /zone/);
    rejects(() => parseAddress('127.0.0.1:80-81'), /only allowed in a bind/);
    rejects(() => parseAddress('0.0.0.0:80', { wildcard: false }), /wildcard/);
    rejects(() => parseAddress('1.2.3.4:http'), /not a port number/);
    rejects(() => parseAddress(8080), /got 8080/);
  });
});

describe('host patterns', () => {
  test('exact and suffix, lower-cased', () => {
    assert.deepEqual(parseHostPattern('API.Example.com'), { kind: 'exact', name: 'api.example.com' });
    const suffix = parseHostPattern('*.apps.example.com');
    assert.deepEqual(suffix, { kind: 'suffix', suffix: '.apps.example.com' });
    assert.ok(hostMatches(suffix, 'a.apps.example.com'));
    assert.ok(!hostMatches(suffix, 'apps.example.com'));
  });

  test('rejected', () => {
    rejects(() => parseHostPattern('a.example.com:80'), /no port/);
    rejects(() => parseHostPattern('a.*.com'), /only allowed as the first label/);
    rejects(() => parseHostPattern('a..com'), /not a valid host name/);
  });
});

test('status ranges', () => {
  assert.deepEqual(parseStatusRange('200-399'), { min: 200, max: 399 });
  assert.deepEqual(parseStatusRange(204), { min: 204, max: 204 });
  rejects(() => parseStatusRange('399-200'), /inverted/);
  rejects(() => parseStatusRange('99'), /99 is not an HTTP status/);
  rejects(() => parseStatusRange('ok'), /expected an HTTP status/);
});

test('header templates', () => {
  assert.deepEqual(parseHeaderTemplate('gen ${generation} by ${server}'), [
    { literal: 'gen ' },
    { variable: 'generation' },
    { literal: ' by ' },
    { variable: 'server' },
  ]);
  assert.equal(expandHeaderTemplate('${backend}/${server} $5', { backend: 'app', server: 'a1' }), 'app/a1 $5');
  rejects(() => parseHeaderTemplate('${nope}'), /unknown variable "\$\{nope\}"/);
  rejects(() => parseHeaderTemplate('${server'), /unterminated/);
  rejects(() => parseHeaderTemplate('a\r\nb'), /CR, LF/);
});
