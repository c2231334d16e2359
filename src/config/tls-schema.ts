// The shape of `tls:` on a frontend and of `redirect_https:` (frontend or route), kept apart
// from schema.ts so the TLS keys read as one block. Files are checked in tls.ts.
type Schema = Record<string, unknown>;

const path = (what: string): Schema => ({ type: 'string', minLength: 1, 'x-expected': what });

export const frontendTlsSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    certificates: {
      type: 'array',
      minItems: 1,
      'x-expected': 'a list of {cert, key} (the first is the default)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['cert', 'key'],
        properties: { cert: path('a certificate file (PEM)'), key: path('a private key file (PEM)') },
      },
    },
    directory: path('a folder of NAME.pem + NAME.key pairs'),
    min_version: { enum: ['TLSv1.2', 'TLSv1.3'] },
    client_ca: path('a CA certificate file (PEM)'),
    client_cert: { enum: ['required', 'optional'] },
  },
};

/** `redirect_https: 308`, or `{ code: 301|308, port: N }`. */
export const redirectHttpsSchema: Schema = {
  'x-expected': '301, 308, or {code: 301|308, port: N}',
  if: { type: 'object' },
  // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword
  then: {
    type: 'object',
    additionalProperties: false,
    properties: { code: { enum: [301, 308] }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
  },
  else: { enum: [301, 308] },
};
