// PowerShell parser for SwarmPS's static checks, built on tree-sitter-powershell.
// pwsh cannot run on our build machines, so the xunit tests (tests/SwarmPS.Module.Tests) call this.
//
//   node psparse.mjs parse    FILE...   -> [{file, errors: [{line, column, text}]}]
//   node psparse.mjs commands FILE...   -> [{file, errors, commands: [{name, line, parameters: [..]}]}]
//   node psparse.mjs data     FILE      -> the .psd1 hashtable as JSON (strings, numbers, booleans, arrays, hashtables)
//
// Known gaps of tree-sitter-powershell 0.26 (valid PowerShell it reports as errors), so our scripts
// avoid them: the ternary operator `a ? b : c` (use if/else), a bare native argument like
// --initial-branch=main (quote it), and dot-sourcing `. $PSScriptRoot/x.ps1` (use Join-Path).
//
// A file of "-" reads the source from stdin. Output is one JSON document on stdout; exit 0 unless
// the tool itself fails (parse errors are data, the caller decides).
import { readFileSync } from 'node:fs';
import Parser from 'tree-sitter';
import PowerShell from 'tree-sitter-powershell';

const parser = new Parser();
parser.setLanguage(PowerShell);

function read(file) {
  return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
}

function parse(source) {
  // tree-sitter's node binding reads long inputs through a callback in chunks.
  return parser.parse((index) => source.slice(index, index + 4096));
}

function errorsOf(tree, source) {
  const errors = [];
  const visit = (node) => {
    if (node.type === 'ERROR' || node.isMissing) {
      const line = source.split('\n')[node.startPosition.row] ?? '';
      errors.push({ line: node.startPosition.row + 1, column: node.startPosition.column + 1, text: (node.isMissing ? 'missing ' + node.type + ': ' : '') + line.trim().slice(0, 200) });
      return;
    }
    if (!node.hasError) return;
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  if (tree.rootNode.hasError && errors.length === 0) errors.push({ line: 1, column: 1, text: 'syntax error' });
  return errors;
}

function commandsOf(tree) {
  const commands = [];
  const visit = (node) => {
    if (node.type === 'command') {
      const nameNode = node.childForFieldName('command_name');
      if (nameNode && nameNode.type === 'command_name') {
        const parameters = [];
        const elements = node.childForFieldName('command_elements');
        if (elements) for (const el of elements.namedChildren) if (el.type === 'command_parameter') parameters.push(el.text);
        commands.push({ name: nameNode.text, line: node.startPosition.row + 1, parameters });
      }
    }
    for (const child of node.namedChildren) visit(child);
  };
  visit(tree.rootNode);
  return commands;
}

// ---------------------------------------------------------------- .psd1 data

// Expression wrappers tree-sitter nests around a single value.
const passThrough = new Set([
  'program', 'statement_list', 'pipeline', 'pipeline_chain', 'logical_expression', 'bitwise_expression', 'comparison_expression',
  'additive_expression', 'multiplicative_expression', 'format_expression', 'range_expression', 'unary_expression',
  'expression_with_unary_operator', 'parenthesized_expression', 'sub_expression', 'array_literal_expression',
]);

function dataOf(node) {
  switch (node.type) {
    case 'hash_literal_expression': {
      const result = {};
      const body = node.namedChildren.find((c) => c.type === 'hash_literal_body');
      for (const entry of body ? body.namedChildren : []) {
        if (entry.type !== 'hash_entry') continue;
        const keyNode = entry.namedChildren.find((c) => c.type === 'key_expression');
        const valueNode = entry.namedChildren.find((c) => c.type !== 'key_expression' && c.type !== 'comment');
        result[unquote(keyNode.text)] = valueNode ? dataOf(valueNode) : null;
      }
      return result;
    }
    case 'array_expression': {
      const list = node.namedChildren.find((c) => c.type === 'statement_list');
      const items = [];
      for (const statement of list ? list.namedChildren : []) {
        if (statement.type === 'comment') continue;
        const value = dataOf(statement);
        if (Array.isArray(value)) items.push(...value); else items.push(value);
      }
      return items;
    }
    case 'string_literal':
      return stringValue(node);
    case 'integer_literal':
    case 'real_literal':
      return Number(node.text);
    case 'variable': {
      const v = node.text.toLowerCase();
      if (v === '$true') return true;
      if (v === '$false') return false;
      if (v === '$null') return null;
      throw new Error(`variable ${node.text} is not allowed in a data file (line ${node.startPosition.row + 1})`);
    }
    default: {
      const named = node.namedChildren.filter((c) => c.type !== 'comment');
      if (node.type === 'array_literal_expression' && named.length > 1) return named.map(dataOf);
      if (node.type === 'statement_list' && named.length > 1) return named.map(dataOf);
      if (passThrough.has(node.type) && named.length >= 1) return dataOf(named[0]);
      throw new Error(`unsupported ${node.type} in a data file (line ${node.startPosition.row + 1}): ${node.text.slice(0, 60)}`);
    }
  }
}

function stringValue(node) {
  const t = node.text;
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.startsWith('"')) return t.slice(1, -1).replace(/`(.)/g, '$1');
  if (t.startsWith('@')) return t.replace(/^@['"]\r?\n/, '').replace(/\r?\n['"]@$/, '');
  return t;
}

function unquote(t) {
  return /^['"]/.test(t) ? t.slice(1, -1) : t;
}

// ---------------------------------------------------------------- main

const [mode, ...files] = process.argv.slice(2);
try {
  let out;
  if (mode === 'parse') {
    out = files.map((file) => { const s = read(file); return { file, errors: errorsOf(parse(s), s) }; });
  } else if (mode === 'commands') {
    out = files.map((file) => { const s = read(file); const t = parse(s); return { file, errors: errorsOf(t, s), commands: commandsOf(t) }; });
  } else if (mode === 'data') {
    const s = read(files[0]);
    const t = parse(s);
    const errors = errorsOf(t, s);
    if (errors.length) throw new Error(`${files[0]} does not parse: line ${errors[0].line}: ${errors[0].text}`);
    out = dataOf(t.rootNode);
  } else {
    throw new Error('usage: psparse.mjs parse|commands|data FILE...');
  }
  process.stdout.write(JSON.stringify(out));
} catch (e) {
  process.stderr.write(String(e && e.message ? e.message : e) + '\n');
  process.exit(2);
}
