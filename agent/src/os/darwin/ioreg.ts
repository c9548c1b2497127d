/** The identity of a Mac as `ioreg -rd1 -c IOPlatformExpertDevice` prints it. */
export interface IoregPlatform {
  uuid?: string;
  serial?: string;
}

/**
 * Reads the two string properties we need from the ioreg dump. Each property sits on its own line as
 * `"Key" = "value"`, indented (with `|` tree guides when -r is not used). Only quoted values are taken:
 * `"serial-number" = <…>` is raw data and a different property.
 */
export function parseIoregPlatform(output: string): IoregPlatform {
  return {
    uuid: stringProperty(output, "IOPlatformUUID"),
    serial: stringProperty(output, "IOPlatformSerialNumber"),
  };
}

function stringProperty(output: string, key: string): string | undefined {
  const match = new RegExp(`^[\\s|]*"${key}" = "([^"]*)"\\s*$`, "m").exec(output);
  return match?.[1]?.trim() || undefined;
}
