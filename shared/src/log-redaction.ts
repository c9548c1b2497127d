/**
 * Log fields that may hold a secret, at the top level and one level down, for pino's redaction: a
 * secret must never reach a log, whatever the code around it passes.
 */
const SECRET_FIELDS = ["connectKey", "connectKeySecret", "adminApiKey", "apiKey", "keyPem", "key", "password", "secret", "authorization", "x-api-key"];

export const SECRET_PATHS: string[] = [
  ...SECRET_FIELDS.flatMap((f) => [`["${f}"]`, `*["${f}"]`]),
  'headers["x-api-key"]',
  "headers.authorization",
  '*.headers["x-api-key"]',
  "*.headers.authorization",
];
