import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/**
 * A SHA-256 over the build's own code: the scripts in scripts/build and the postject version. With the
 * SEA blob's hash (which covers the bundled agent and its dependencies) and the Node version, it says
 * whether a binary built earlier is still what a build would make now. The installers' scripts
 * (scripts/build/installers) make nothing that goes into a binary, so they are left out.
 */
export async function buildScriptsDigest(root: string): Promise<string> {
  const installers = join(root, "scripts/build/installers");
  const files = (await walk(join(root, "scripts/build"))).filter((file) => !file.startsWith(installers + "/")).sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(relative(root, file) + "\0");
    hash.update(createHash("sha256").update(await readFile(file)).digest());
  }
  const postject = JSON.parse(await readFile(join(root, "node_modules/postject/package.json"), "utf8")) as { version: string };
  hash.update(`postject@${postject.version}`);
  return hash.digest("hex");
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return Promise.resolve(entry.isFile() ? [path] : []);
    }),
  );
  return nested.flat();
}
