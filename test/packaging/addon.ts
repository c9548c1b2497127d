import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { REPO_ROOT } from "../helpers/control-plane.js";

/**
 * Compiles test/packaging/fixtures/hello-addon.c into a real `.node` file with the machine's C compiler
 * and Node's own headers (beside the running node, or npm's `nodedir`). Node-API, so one build loads in
 * Node 20 and in the SEA's Node 22.
 */
export async function buildHelloAddon(outDir: string): Promise<string> {
  const output = join(outDir, "hello.node");
  await execa("cc", ["-shared", "-fPIC", "-O2", "-I", await nodeIncludeDir(), join(REPO_ROOT, "test/packaging/fixtures/hello-addon.c"), "-o", output]);
  return output;
}

async function nodeIncludeDir(): Promise<string> {
  const candidates = [join(dirname(dirname(realpathSync(process.execPath))), "include/node")];
  const nodedir = (await execa("npm", ["config", "get", "nodedir"], { reject: false })).stdout.trim();
  if (nodedir && nodedir !== "undefined") candidates.push(join(nodedir, "include/node"));
  const found = candidates.find((dir) => existsSync(join(dir, "node_api.h")));
  if (!found) throw new Error(`no node_api.h in ${candidates.join(" or ")}`);
  return found;
}
