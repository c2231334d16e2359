import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeholdersIn, renderCommand, renderTemplate } from '../../src/storm/template.js';

const values = {
  backends: new Map([
    ['a', { host: '127.0.0.1', port: 9001 }],
    ['v6', { host: '::1', port: 9002 }],
  ]),
  ports: new Map([['web', 18080]]),
  dir: '/tmp/w',
  templateDir: '/etc/t',
};

test('placeholders: backend and port names found, storm.* and handoff variables are not names', () => {
  const p = placeholdersIn('a ${backend.a} ${backend.b.port} ${port.web} ${storm.dir} ${generation} ${backend}');
  assert.deepEqual([...p.backends].sort(), ['a', 'b']);
  assert.deepEqual([...p.ports], ['web']);
});

test('render: addresses (IPv6 in brackets), ports, folders; handoff variables untouched', () => {
  const out = renderTemplate(
    '${backend.a} ${backend.v6} ${backend.a.port} 127.0.0.1:${port.web} ${storm.dir} ${storm.template-dir} ${server} ${generation}',
    values,
    't',
  );
  assert.equal(out, '127.0.0.1:9001 [::1]:9002 9001 127.0.0.1:18080 /tmp/w /etc/t ${server} ${generation}');
});

test('render: an unknown name is an error that names it', () => {
  assert.throws(() => renderTemplate('${backend.nope}', values, 'x.cfg'), /x\.cfg: unknown placeholder \$\{backend\.nope\}/);
  assert.throws(() => renderTemplate('${port.other}', values, 'x.cfg'), /\$\{port\.other\}/);
  assert.throws(() => renderTemplate('${storm.nope}', values, 'x.cfg'), /\$\{storm\.nope\}/);
});

test('commands: {config} {dir} {pidfile} as well', () => {
  const cmd = renderCommand(
    'haproxy -f {config} -p {pidfile} -sf $(cat {pidfile}) -C {dir} # ${port.web}',
    { ...values, config: '/tmp/w/c.cfg', pidFile: '/tmp/w/t.pid' },
    '--reload',
  );
  assert.equal(cmd, 'haproxy -f /tmp/w/c.cfg -p /tmp/w/t.pid -sf $(cat /tmp/w/t.pid) -C /tmp/w # 18080');
});
