#!/usr/bin/env node
// A `solc` stand-in backed by solcjs (the compiler as WebAssembly, npm package
// `solc`), for machines that cannot download native solc builds.
//
// It answers the two calls py-solc-x / ape-solidity make:
//   solc-v0.8.37 --version
//   solc-v0.8.37 --standard-json [--base-path DIR] [--include-path DIR]... < input.json
// Register it as `<SOLCX_BINARY_PATH>/solc-v0.8.37` with a symlink, not a copy:
// node_modules is found next to this file's real location.
'use strict';

const fs = require('fs');
const path = require('path');

// Answered from a constant: loading solcjs takes ~0.6 s and ape asks twice per
// compile. Keep it in sync with node_modules/solc (checked before compiling).
const VERSION = '0.8.37+commit.f401782d';
const ROOT = path.resolve(path.dirname(fs.realpathSync(__filename)), '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

function fail(msg) {
  process.stderr.write(`solc.js: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { standardJson: false, version: false, basePath: null, includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--version': opts.version = true; break;
      case '--standard-json': opts.standardJson = true; break;
      case '--base-path': opts.basePath = value(); break;
      case '--include-path': opts.includePaths.push(value()); break;
      case '--allow-paths': case '--output-dir': value(); break; // take the value, ignore it
      default: break; // other flags (e.g. --overwrite, "-") are irrelevant here
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

if (opts.version) {
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${VERSION}.Linux.g++\n`);
  process.exit(0);
}
if (!opts.standardJson) fail('only --version and --standard-json are supported');

const solc = require(path.join(NODE_MODULES, 'solc'));
if (!solc.version().startsWith(VERSION + '.')) {
  fail(`node_modules/solc is ${solc.version()}, expected ${VERSION}; update VERSION or reinstall`);
}

// Like solc's own file reader: source unit names (already remapped by the
// compiler) are looked up under the base path, then each include path, then
// the project's node_modules.
const roots = [opts.basePath || process.cwd(), ...opts.includePaths, NODE_MODULES];
function findImports(sourceUnit) {
  const candidates = path.isAbsolute(sourceUnit)
    ? [sourceUnit]
    : roots.map((root) => path.resolve(root, sourceUnit));
  for (const file of candidates) {
    try {
      return { contents: fs.readFileSync(file, 'utf8') };
    } catch (_) { /* try the next root */ }
  }
  return { error: `File not found: ${sourceUnit} (looked in ${roots.join(', ')})` };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
