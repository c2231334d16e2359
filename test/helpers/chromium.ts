// A real headless Chromium driven over the DevTools protocol, for tests of the stats page.
// Started as a tracked process (stopAll() ends it) with a throw-away profile folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { spawnTracked, type Tracked } from './processes.js';

/** The Chromium binary on PATH, or undefined. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export interface Browser {
  readonly proc: Tracked;
  /** Evaluate an expression in the page; resolves with its value (JSON-serialisable). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the page. */
  screenshot(): Promise<Buffer>;
  /** Console messages and CSP violations the page reported. */
  readonly problems: string[];
  close(): Promise<void>;
}

/** Open `url` in a headless Chromium and attach to its page. */
export async function openPage(binary: string, url: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'handoff-chromium-'));
  const proc = spawnTracked(binary, [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    '--window-size=1100,900',
    url,
  ]);
  // Chromium's helper processes may still be writing the profile for a moment after the
  // browser exits (ENOTEMPTY): retried, and never an unhandled rejection.
  void proc.exited.then(() => {
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch {
      // Left in the temp folder; nothing to stop.
    }
  });
  const m = await proc.waitFor(/DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//, 30_000);
  const port = Number(m[1]);
  let target: { webSocketDebuggerUrl: string; url: string } | undefined;
  for (let i = 0; i < 200 && !target; i++) {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      url: string;
      webSocketDebuggerUrl: string;
    }[];
    target = list.find((t) => t.type === 'page' && t.url.startsWith(url));
    if (!target) await new Promise((r) => setTimeout(r, 50));
  }
  if (!target) throw new Error(`no page for ${url} in Chromium`);
  const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const problems: string[] = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: Record<string, unknown>;
    };
    if (msg.id !== undefined) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(msg.error.message));
      else w?.resolve(msg.result);
    } else if (msg.method === 'Log.entryAdded' || msg.method === 'Runtime.exceptionThrown') {
      problems.push(JSON.stringify(msg.params).slice(0, 500));
    }
  });
  ws.on('close', () => {
    for (const w of waiting.values()) w.reject(new Error('DevTools connection closed'));
    waiting.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Log.enable');
  await send('Runtime.enable');
  return {
    proc,
    problems,
    async evaluate<T>(expression: string): Promise<T> {
      const r = (await send('Runtime.evaluate', { expression, returnByValue: true })) as {
        result: { value: T };
        exceptionDetails?: unknown;
      };
      if (r.exceptionDetails) throw new Error(`page: ${JSON.stringify(r.exceptionDetails).slice(0, 300)}`);
      return r.result.value;
    },
    async screenshot() {
      const r = (await send('Page.captureScreenshot', { format: 'png' })) as { data: string };
      return Buffer.from(r.data, 'base64');
    },
    async close() {
      ws.close();
      await proc.stop('SIGTERM', 10_000);
    },
  };
}
