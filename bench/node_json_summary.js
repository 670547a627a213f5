// node_json_summary.js - the node reader of the issue-2 benchmark
// (bench/rrd_readers.sh): what a script would do with an /rrd_updates JSON
// document.
//
// Reads the whole file (stdin for "-"), JSON.parse()s it, converts every value
// of every row to a Number with Number(s), and prints the line
// `xapistat rrd2csv --summary` prints, so the benchmark can compare them:
//
//   series=S cells=C nan=N sum=X
//
// S = legend entries, C = values (NaN included), N = NaN values, X = sum of
// the finite values in document order, formatted like C's "%.9e".
//
// Only the strict-JSON variant that ../shared/tools/gen_updates.py --json
// writes is understood:
//   {"meta":{...,"legend":[...]},"data":[{"t":"...","values":["...",...]},...]}
//
// usage: node node_json_summary.js FILE|-
// Exit: 0 ok, 1 unreadable file or unexpected shape, 2 usage.
'use strict';

const fs = require('fs');

// C's printf("%.9e", x): toExponential pads the exponent to one digit, C to two.
function formatE9(x) {
  return x.toExponential(9).replace(/e([+-])(\d)$/, 'e$10$2');
}

function summarise(doc) {
  if (!doc || !doc.meta || !Array.isArray(doc.meta.legend) || !Array.isArray(doc.data)) {
    throw new Error('not an /rrd_updates JSON document with meta.legend and data');
  }
  let cells = 0;
  let nan = 0;
  let sum = 0;
  for (const row of doc.data) {
    for (const s of row.values) {
      const x = Number(s);
      cells++;
      if (Number.isNaN(x)) {
        nan++;
      } else if (Number.isFinite(x)) {
        sum += x;
      }
    }
  }
  return `series=${doc.meta.legend.length} cells=${cells} nan=${nan} sum=${formatE9(sum)}`;
}

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node node_json_summary.js FILE|-\n');
    return 2;
  }
  try {
    const text = fs.readFileSync(argv[0] === '-' ? 0 : argv[0], 'utf8');
    process.stdout.write(summarise(JSON.parse(text)) + '\n');
  } catch (e) {
    process.stderr.write(`node_json_summary: ${argv[0]}: ${e.message}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
