import { ValidationError } from "../errors.js";
import { MAX_PASSWORD_LENGTH } from "../user-config.js";

/**
 * The password policy, NIST SP 800-63B style: long enough, not derived from the username, and no
 * composition rules. Length counts characters (code points), not bytes. Returns every problem, so
 * the user can fix them at once.
 */
export function passwordProblems(password: string, username: string, minLength: number): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < minLength) problems.push(`must be at least ${minLength} characters long (it has ${length})`);
  if (length > MAX_PASSWORD_LENGTH) problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  if (/\p{Cc}/u.test(password)) problems.push("must not contain control characters (tabs, line breaks, …)");
  const lower = password.toLowerCase();
  if (username && lower === username.toLowerCase()) problems.push("must not be the username");
  else if (username && lower.includes(username.toLowerCase())) problems.push("must not contain the username");
  return problems;
}

/** Throws a 400 naming `field` with every problem of the password. */
export function checkPasswordPolicy(password: string, username: string, minLength: number, field = "password"): void {
  const problems = passwordProblems(password, username, minLength);
  if (problems.length > 0) {
    throw new ValidationError(
      `${field}: ${problems.join("; ")}`,
      problems.map((reason) => ({ field, reason })),
    );
  }
}
