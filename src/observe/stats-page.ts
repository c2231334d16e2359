// The stats page (`/` on the stats listener): one self-contained HTML document, read-only,
// that polls /status.json every POLL_MS and redraws itself. No external resource of any
// kind: the style and the script are inline, and the Content-Security-Policy allows exactly
// those two (by hash), requests to this origin, and nothing else (no frames, no forms, no
// plugins, no images). Data is put in the page with textContent only, never as HTML.
import { createHash } from 'node:crypto';

/** How often the page asks for /status.json. */
export const POLL_MS = 1500;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 .3em}h2{font-size:16px;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin-bottom:.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.figures span{display:inline-block;margin-right:1.4em}.figures b{font-size:18px}
.up{color:#060}.down{color:#b00}.starting,.draining{color:#a60}.failed{color:#b00}.muted{color:#777}#error{color:#b00}
`;

const SCRIPT = `
(function () {
  'use strict';
  var POLL_MS = ${POLL_MS};
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    var tr = el('tr');
    cells.forEach(function (c) { tr.appendChild(Array.isArray(c) ? el('td', c[0], c[1]) : el('td', c)); });
    return tr;
  }
  function fill(id, rows, columns) {
    var body = document.getElementById(id);
    while (body.firstChild) body.removeChild(body.firstChild);
    if (rows.length === 0) { var td = el('td', 'none', 'muted'); td.colSpan = columns; var tr = el('tr'); tr.appendChild(td); body.appendChild(tr); }
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function set(id, v) { document.getElementById(id).textContent = String(v); }
  function age(ms) {
    var s = Math.max(0, ms) / 1000;
    return s < 60 ? s.toFixed(1) + ' s' : s < 3600 ? (s / 60).toFixed(1) + ' min' : (s / 3600).toFixed(1) + ' h';
  }
  function render(r) {
    var now = Date.now();
    var active = r.generations.filter(function (g) { return g.state === 'active'; })[0];
    set('config-generation', active ? active.configGeneration : '-');
    set('process-generation', active ? active.number : '-');
    set('version', r.master.version);
    set('master-state', r.master.state);
    set('pid', r.master.pid);
    set('uptime', age(now - r.master.startedAt));
    set('requests', r.totals.requests);
    set('accepted', r.totals.accepted);
    var open = 0; Object.keys(r.totals.connections).forEach(function (k) { open += r.totals.connections[k]; });
    set('connections', open);
    set('migrated', r.totals.migratedIn);
    var alive = r.generations.filter(function (g) { return g.workers.length > 0; });
    fill('generation-rows', alive.map(function (g) {
      return row([g.number, [g.state, g.state], g.configGeneration, age(now - g.startedAt), g.workers.length + ' of ' + g.workersWanted,
        g.workers.map(function (w) { return w.pid + ' ' + w.state; }).join(', ')]);
    }), 6);
    var draining = alive.filter(function (g) { return g.state === 'draining'; });
    fill('draining-rows', draining.map(function (g) {
      return row([g.number, g.workers.map(function (w) { return w.pid; }).join(', '),
        g.drainStartedAt ? age(now - g.drainStartedAt) : '-', g.drainDeadline ? age(g.drainDeadline - now) : '-']);
    }), 4);
    set('oldest-draining', draining.length ? age(now - Math.min.apply(null, draining.map(function (g) { return g.drainStartedAt || now; }))) : 'none');
    fill('reload-rows', r.reloads.slice().reverse().map(function (x) {
      return row([x.id, x.kind || '-', [x.outcome, x.outcome === 'failed' ? 'failed' : ''], x.durationMs + ' ms', x.generation === undefined ? '-' : x.generation,
        age(now - x.requestedAt) + ' ago', x.reason ? x.reason.split('\\n')[0] : '']);
    }), 7);
    var servers = [];
    Object.keys(r.backends).sort().forEach(function (b) {
      var bc = r.backends[b];
      Object.keys(bc.servers).sort().forEach(function (s) {
        var sc = bc.servers[s];
        var life = r.lifetime && r.lifetime.backends[b] && r.lifetime.backends[b].servers[s];
        servers.push(row([b, s, [sc.operational, sc.operational], sc.admin, sc.active, bc.queue, life ? life.requests : sc.requests]));
      });
    });
    fill('server-rows', servers, 7);
    fill('tls-rows', (r.tls || []).map(function (c) {
      var left = c.notAfter - now;
      return row([c.frontend, c.cert + (c.default ? ' (default)' : ''), c.names.join(', '), [left <= 0 ? 'EXPIRED' : left > 172800000 ? Math.floor(left / 86400000) + ' days' : age(left), left < 14 * 86400000 ? 'failed' : ''], c.serial]);
    }), 5);
    set('updated', new Date().toLocaleTimeString());
    set('error', '');
  }
  function poll() {
    fetch('/status.json', { cache: 'no-store' })
      .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json(); })
      .then(render)
      .catch(function (e) { set('error', 'not updated: ' + e.message); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;

const BODY = `<h1>handoff <span id="version"></span></h1>
<p class="figures"><span>config generation <b id="config-generation">-</b></span><span>process generation <b id="process-generation">-</b></span>
<span>master <b id="master-state">-</b></span><span>pid <b id="pid">-</b></span><span>up <b id="uptime">-</b></span></p>
<p class="figures"><span>requests <b id="requests">-</b></span><span>connections accepted <b id="accepted">-</b></span><span>open now <b id="connections">-</b></span>
<span>migrated <b id="migrated">-</b></span><span>oldest draining <b id="oldest-draining">-</b></span></p>
<h2>Generations alive</h2>
<table><thead><tr><th>process gen.</th><th>state</th><th>config gen.</th><th>age</th><th>workers</th><th>pids</th></tr></thead><tbody id="generation-rows"></tbody></table>
<h2>Draining</h2>
<table><thead><tr><th>process gen.</th><th>pids</th><th>draining for</th><th>deadline in</th></tr></thead><tbody id="draining-rows"></tbody></table>
<h2>Backends and servers</h2>
<table><thead><tr><th>backend</th><th>server</th><th>state</th><th>admin</th><th>active</th><th>queue</th><th>requests</th></tr></thead><tbody id="server-rows"></tbody></table>
<h2>TLS certificates</h2>
<table><thead><tr><th>frontend</th><th>certificate</th><th>names</th><th>expires in</th><th>serial</th></tr></thead><tbody id="tls-rows"></tbody></table>
<h2>Reloads</h2>
<table><thead><tr><th>#</th><th>kind</th><th>outcome</th><th>duration</th><th>generation</th><th>when</th><th>reason</th></tr></thead><tbody id="reload-rows"></tbody></table>
<p class="muted">updated <span id="updated">never</span> <span id="error"></span> · <a href="/status.json">status.json</a> · <a href="/metrics">metrics</a></p>`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page, built once: it holds no data (the script fetches it). */
export const STATS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>handoff</title>
<style>${STYLE}</style></head>
<body>
${BODY}
<script>${SCRIPT}</script>
</body></html>
`;

/** Headers for the page: only its own inline style and script, fetches to this origin, nothing else. */
export const STATS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
