/** One value as `reg query <key> /v <name>` prints it. */
export interface RegValue {
  /** REG_SZ, REG_DWORD (data then reads "0x12c"), REG_EXPAND_SZ, … */
  type: string;
  data: string;
}

// reg.exe prints the key, then each value as four spaces, name, four spaces, type, four spaces, data.
// Names and REG_SZ data may themselves contain spaces, so the type is the anchor; empty data leaves the
// line ending after the type (with or without the separator).
const VALUE_LINE = /^ {4}(.+?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/;

/**
 * The named value from `reg query` output, or undefined when it is absent. Registry value names are
 * case-insensitive ("ScreenSaveTimeOut" and "ScreenSaveTimeout" are one value), and the output is CRLF
 * on a real console but may reach us with LF only.
 */
export function parseRegQueryValue(output: string, valueName: string): RegValue | undefined {
  const wanted = valueName.toLowerCase();
  for (const line of output.split(/\r?\n/)) {
    const match = VALUE_LINE.exec(line);
    if (match?.[1]?.toLowerCase() === wanted && match[2] !== undefined) {
      return { type: match[2], data: (match[3] ?? "").trimEnd() };
    }
  }
  return undefined;
}
