// validate_asyncapi.js FILE: parses FILE with the official AsyncAPI parser (@asyncapi/parser,
// the version pinned in package-lock.json) and prints its diagnostics. Exits 1 when the document
// is invalid (any error) or draws a warning, 0 otherwise. NODE_PATH must name the node_modules
// that tests/asyncapi/install_tools.sh installed (validate_asyncapi.sh sets it).
'use strict';

const fs = require('fs');
const { Parser } = require('@asyncapi/parser');

const SEVERITY = ['error', 'warning', 'info', 'hint'];

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: validate_asyncapi.js FILE');
    return 2;
  }
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'), {
    source: file,
  });
  let failing = 0;
  for (const d of diagnostics) {
    const where = d.range ? `${d.range.start.line + 1}:${d.range.start.character + 1}` : '?';
    const path = (d.path || []).join('.');
    console.error(`${file}:${where}: ${SEVERITY[d.severity] || d.severity}: ${d.code}: ` +
                  `${d.message} (${path})`);
    if (d.severity <= 1) failing++;
  }
  if (!document || failing > 0) {
    console.error(`${file}: not a valid AsyncAPI document (${failing} errors or warnings)`);
    return 1;
  }
  console.error(`${file}: valid AsyncAPI ${document.version()} ` +
                `(${document.channels().length} channels, ` +
                `${document.operations().length} operations, ` +
                `${document.messages().length} messages)`);
  return 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
