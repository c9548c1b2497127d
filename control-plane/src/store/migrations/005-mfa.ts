import type { Migration } from "./index.js";

// TOTP MFA and the user portal's sessions and lock-out counter.
export const m005Mfa: Migration = {
  version: 5,
  name: "mfa",
  sql: `
-- One TOTP secret per user, sealed by the secret box (AES-256-GCM under DATA/pki/data.key, bound to
-- the user id). Unconfirmed until the user proves the authenticator app has it; last_used_step is the
-- 30-second time step of the last code accepted, so a code works once.
CREATE TABLE user_totp (
  user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_sealed  TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  confirmed_at   TEXT,
  last_used_step INTEGER
);

-- Portal sessions: only a hash of each bearer token is kept. 'password-change' sessions (the password
-- had expired at sign-in) may only change the password.
CREATE TABLE portal_sessions (
  token_hash  TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  scope       TEXT NOT NULL CHECK (scope IN ('full', 'password-change')),
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  remote_addr TEXT
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_id);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);

-- Failed portal sign-ins in a row (wrong password or MFA code), for the lock-out.
CREATE TABLE portal_login_failures (
  user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  failures        INTEGER NOT NULL,
  last_failure_at TEXT NOT NULL
);

-- The sweep that ends enrollment windows reads only pending users.
CREATE INDEX users_mfa_pending ON users (mfa_enrollment_deadline) WHERE mfa_status = 'pending';
-- Users made MFA-required before the status was kept: pending (the sweep expires past windows).
UPDATE users SET mfa_status = 'pending' WHERE mfa_required = 1 AND mfa_status = 'not_enrolled';
`,
};
