// Types for `handoff echo`, the demo and test backend. The behaviour contract is at the
// top of echo-server.ts and in docs/echo.md.

export type EchoMode = 'http' | 'tcp';

export interface EchoOptions {
  /** 0 = ephemeral; the bound port is reported by EchoServer.port. */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default `echo-PORT` with the bound port. */
  readonly name?: string;
  /** Default http. */
  readonly mode?: EchoMode;
}

export interface EchoServer {
  readonly name: string;
  readonly mode: EchoMode;
  readonly host: string;
  readonly port: number;
  /** HOST:PORT of the bound address, IPv6 as [::1]:PORT. */
  readonly address: string;
  /**
   * Stop accepting, close idle connections, let in-flight work finish for up to graceMs
   * (default 1000), then destroy what is left. Resolves once every connection is gone.
   */
  close(graceMs?: number): Promise<void>;
}
