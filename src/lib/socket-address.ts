// A socket address as the config names it and the lowest layer (node-handles.ts) binds it.
// Defined here, not in config/, so that lib/ depends on nothing above it.

export type Family = 4 | 6;

/** One concrete socket address (a port range in the file expands into several). */
export interface SocketAddress {
  readonly host: string; // "127.0.0.1", "::1", "0.0.0.0", "::"
  readonly port: number;
  readonly family: Family;
  /** Canonical text: "127.0.0.1:8080" or "[::1]:8080". Identity of a listener across reloads. */
  readonly key: string;
}
