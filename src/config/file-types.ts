// The config file's shape as written (after the schema accepted it): keys as in YAML, scalars
// unparsed. Only the loader sees these; everything else uses the model in types.ts.

export type RawDuration = string;

export interface RawTimeouts {
  connect?: RawDuration;
  client?: RawDuration;
  server?: RawDuration;
  queue?: RawDuration;
  'http-request'?: RawDuration;
  'keep-alive'?: RawDuration;
  tunnel?: RawDuration;
}

/** Status code → file path as written (relative to the config file's folder). */
export type RawErrors = Record<string, string>;

export interface RawHeaderOps {
  set?: Record<string, string>;
  remove?: string[];
}

export interface RawHeaders {
  request?: RawHeaderOps;
  response?: RawHeaderOps;
}

export interface RawRoute {
  name?: string;
  host?: string | string[];
  path?: string;
  /** Absent on a redirect_https route. */
  backend?: string;
  headers?: RawHeaders;
  /** mode: tcp only (TLS passthrough by server_name). */
  sni?: string | string[];
  redirect_https?: RawHttpsRedirect;
}

export interface RawFrontend {
  bind: string | string[];
  mode?: 'http' | 'tcp';
  routes?: RawRoute[];
  default_backend?: string;
  headers?: RawHeaders;
  timeouts?: RawTimeouts;
  errors?: RawErrors;
  maxconn?: number;
  // TLS (issue 11): checked and read by src/config/tls.ts.
  tls?: Record<string, unknown>;
  redirect_https?: RawHttpsRedirect;
}

export type RawHttpsRedirect = 301 | 308 | { code?: 301 | 308; port?: number };

export interface RawServer {
  name: string;
  address: string;
  weight?: number;
  maxconn?: number;
  backup?: boolean;
  admin?: 'ready' | 'drain' | 'maint';
  tls?: RawUpstreamTls;
}

/** TLS to servers: `true`, `false` (a server opting out of its backend's), or settings. */
export type RawUpstreamTls = boolean | { verify?: boolean; ca?: string; sni?: string };

export interface RawHealth {
  type?: 'tcp' | 'http';
  interval?: RawDuration;
  timeout?: RawDuration;
  rise?: number;
  fall?: number;
  method?: string;
  path?: string;
  host?: string;
  expect?: string | number;
}

export interface RawBackend {
  balance?: 'roundrobin' | 'leastconn' | 'random' | 'source' | 'uri';
  servers: RawServer[];
  health?: RawHealth;
  retries?: number;
  maxqueue?: number;
  passive?: { fall?: number; cooldown?: RawDuration };
  timeouts?: RawTimeouts;
  tls?: RawUpstreamTls;
}

export interface RawConfig {
  workers?: 'auto' | number;
  control?: string;
  drain?: { timeout?: RawDuration; migrate?: boolean; accept_grace?: RawDuration };
  timeouts?: RawTimeouts;
  limits?: { 'request-line'?: string | number; 'header-size'?: string | number; 'header-count'?: number; pipeline?: number };
  log?: { access?: string; buffer?: string | number; format?: 'json' | 'combined' };
  errors?: RawErrors;
  stats?: { bind: string };
  frontends: Record<string, RawFrontend>;
  backends?: Record<string, RawBackend>;
}
