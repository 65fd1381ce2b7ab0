#!/usr/bin/env node
// Copy the rasa-webchat browser bundle into web/static/vendor/ and strip
// everything in it that would make the browser contact a host other than the
// page's own origin and the configured socket server.
//
// Run from the repository root (`node web/build.mjs`) or from web/
// (`npm run build`). Paths are resolved relative to this file, not the cwd.
//
// The script fails loudly (non-zero exit) when the bundle does not look the
// way it is expected to, so that a rasa-webchat upgrade is noticed and the
// patches below are re-checked by a human.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = dirname(fileURLToPath(import.meta.url));
const PKG_DIR = join(WEB_DIR, "node_modules", "rasa-webchat");
// lib/index.js is the self-contained UMD build (React and ReactDOM bundled
// in, global `WebChat`, `WebChat.default` === selfMount). module/index.js is
// the variant that expects React/ReactDOM as externals; we do not use it.
const SRC = join(PKG_DIR, "lib", "index.js");
const OUT_DIR = join(WEB_DIR, "static", "vendor");
const OUT = join(OUT_DIR, "webchat.js");
const OUT_LICENSE = join(OUT_DIR, "webchat.LICENSE.txt");

const EXPECTED_VERSION = "1.0.1";

function fail(msg) {
  console.error(`build.mjs: ERROR: ${msg}`);
  process.exit(1);
}

function readOrFail(path, hint) {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    fail(`cannot read ${relative(process.cwd(), path) || path}: ${err.message}${hint ? `\n  ${hint}` : ""}`);
  }
}

const pkg = JSON.parse(
  readOrFail(join(PKG_DIR, "package.json"), "run `npm ci` (or `npm install`) in web/ first"),
);
if (pkg.version !== EXPECTED_VERSION) {
  fail(
    `rasa-webchat is ${pkg.version}, build.mjs was written for ${EXPECTED_VERSION}; ` +
      "re-inspect the bundle and update the patches below.",
  );
}

let code = readOrFail(SRC);
const inputSha = createHash("sha256").update(code).digest("hex");

// --- Patches ---------------------------------------------------------------
// Each patch must match at least `min` (and at most `max`) times, otherwise
// the build fails.
const PATCHES = [
  {
    name: "Google Fonts @import in bundled CSS (style-loader would inject it)",
    find: "@import url(https://fonts.googleapis.com/css?family=Inter:400,500,700&display=swap);",
    replace: "",
    min: 1,
    max: Infinity,
  },
  {
    name: "docViewer iframe pointing at docs.google.com/viewer",
    // Only used when the widget is created with docViewer:true, which we do
    // not do; neutralised anyway so it can never load a third-party page.
    find: '"https://docs.google.com/viewer?url="',
    replace: '"about:blank#"',
    min: 1,
    max: 1,
  },
];

const applied = [];
for (const p of PATCHES) {
  const count = code.split(p.find).length - 1;
  if (count < p.min || count > p.max) {
    fail(`patch "${p.name}": expected ${p.min}..${p.max} match(es), found ${count}`);
  }
  code = code.split(p.find).join(p.replace);
  applied.push(`${p.name}: ${count} occurrence(s)`);
}

// --- Audit -----------------------------------------------------------------
// After patching, every absolute http(s) URL left in the bundle must be one
// of these known, never-fetched strings (XML namespaces, links inside error
// messages and license comments, socket.io/markdown parser constants,
// localhost defaults). Anything else fails the build.
const ALLOWED_URLS = new Set([
  // XML namespaces used by React DOM / SVG, never fetched
  "http://www.w3.org/2000/svg",
  "http://www.w3.org/1999/xhtml",
  "http://www.w3.org/1999/xlink",
  "http://www.w3.org/XML/1998/namespace",
  "http://www.w3.org/1998/Math/MathML",
  // text of error / warning messages and license comments
  "https://reactjs.org/docs/error-decoder.html?invariant=",
  "https://fb.me/react-polyfills",
  "http://fb.me/use-check-prop-types",
  "https://redux.js.org/api-reference/store#subscribelistener",
  "https://stomp-js.github.io/api-docs/latest/classes/Stomp.html#over",
  "https://socket.io/docs/v3/migrating-from-2-x-to-3-0/",
  "https://github.com/puleos/object-hash/issues/26",
  "https://github.com/jonschlinkert/repeat-string",
  "https://feross.org",
  "http://feross.org",
  "https://bestiejs.github.io/json3",
  "http://kit.mit-license.org",
  "http://jedwatson.github.io/classnames",
  "http://github.com/dominictarr/crypto-browserify",
  "http://git.io/vg5Ft",
  // localhost defaults (widget default socketUrl, engine.io non-browser
  // location fallback); we always pass socketUrl explicitly
  "http://localhost",
  "http://localhost:80",
  "http://localhost/",
  // bare scheme prefixes: markdown autolink detection and socket.io-client's
  // URL normaliser ("https://" + host when no scheme is given)
  "http://",
  "https://",
]);

const urlRe = /https?:\/\/[^\s"'`()<>\\,;]*/g;
const unexpected = new Map();
for (const m of code.matchAll(urlRe)) {
  const url = m[0];
  if (!ALLOWED_URLS.has(url)) {
    unexpected.set(url, code.slice(Math.max(0, m.index - 60), m.index + url.length + 20));
  }
}
if (unexpected.size > 0) {
  const lines = [...unexpected].map(([u, ctx]) => `  ${u}\n      ...${ctx}...`);
  fail(`unexpected external URL(s) left in the bundle:\n${lines.join("\n")}`);
}

// Belt and braces: things that must not survive in any form.
const FORBIDDEN = [
  /googleapis/i,
  /gstatic/i,
  /docs\.google\.com/i,
  /@import/i,
  /url\(\s*["']?(?:https?:)?\/\//i, // CSS url() pointing at any host
  /["'`]\/\/[a-z0-9-]+\.[a-z]/i, // protocol-relative "//host.tld" literals
];
for (const re of FORBIDDEN) {
  const m = code.match(re);
  if (m) {
    fail(`forbidden pattern ${re} still present: ...${code.slice(Math.max(0, m.index - 60), m.index + 80)}...`);
  }
}

// --- Write -----------------------------------------------------------------
const banner =
  `/*! rasa-webchat ${pkg.version} (lib/index.js, Apache-2.0, see webchat.LICENSE.txt).\n` +
  ` * Patched by web/build.mjs so that it makes no requests to external hosts:\n` +
  applied.map((a) => ` *   - ${a}\n`).join("") +
  ` * Source sha256: ${inputSha}\n */\n`;

mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(OUT, banner + code);
writeFileSync(OUT_LICENSE, readOrFail(join(PKG_DIR, "LICENSE")));

console.log(`build.mjs: rasa-webchat ${pkg.version} lib/index.js (sha256 ${inputSha.slice(0, 12)}...)`);
for (const a of applied) console.log(`  stripped: ${a}`);
console.log(`  wrote ${relative(process.cwd(), OUT) || OUT} (${(banner.length + code.length).toLocaleString("en")} bytes)`);
