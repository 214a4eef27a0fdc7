// Runs the jco CLI (`node jco-wrap.mjs componentize …`, same arguments as
// `jco`) with the host's root directory preopened for jco's WASI shims.
//
// jco 1.35.0 pulls in @bytecodealliance/preview2-shim 0.26.1, whose Node.js
// filesystem starts with no preopened directories, so the wasm-tools and
// splicer that jco runs as WebAssembly cannot read the `--wit` folder
// ("failed to get path metadata: No such file or directory (os error 44)").
// Giving every copy of the shim in node_modules the preopen "/" -> "/" fixes
// that. Without the fix, only paths inside the working directory could work.

import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** node_modules next to this script, or NODE_PATH's first folder. */
function nodeModules() {
  const candidates = [
    process.env.DEPLOYKIT_NODE_MODULES,
    join(dirname(fileURLToPath(import.meta.url)), "node_modules"),
  ].filter(Boolean);
  const found = candidates.find((d) => existsSync(join(d, "@bytecodealliance", "jco")));
  if (!found) {
    throw new Error(`jco is not installed in ${candidates.join(" or ")}; run npm ci`);
  }
  return found;
}

/** Every preview2-shim folder under `root`, nested copies included. */
function shimCopies(root) {
  const copies = [];
  const walk = (modules) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith("@")) {
        for (const scoped of readdirSync(join(modules, entry.name), { withFileTypes: true })) {
          if (!scoped.isDirectory()) continue;
          const pkg = join(modules, entry.name, scoped.name);
          if (entry.name === "@bytecodealliance" && scoped.name === "preview2-shim") {
            copies.push(pkg);
          }
          walk(join(pkg, "node_modules"));
        }
      } else {
        walk(join(modules, entry.name, "node_modules"));
      }
    }
  };
  walk(root);
  return copies;
}

const modules = nodeModules();
for (const shim of shimCopies(modules)) {
  const fs = join(shim, "dist", "nodejs", "filesystem.js");
  if (!existsSync(fs)) continue;
  const { _setPreopens } = await import(pathToFileURL(fs).href);
  if (typeof _setPreopens === "function") {
    _setPreopens({ "/": "/" });
  }
}

const jco = join(modules, "@bytecodealliance", "jco", "dist", "jco.js");
process.argv = [process.argv[0], jco, ...process.argv.slice(2)];
await import(pathToFileURL(jco).href);
