import assert from "node:assert/strict";
import { KdlSyntaxError } from "../../src/config/errors.ts";
import { type KdlNode, parseKdl, plainValue } from "../../src/config/kdl.ts";

/** Nodes without positions: `{name, args, props, children}` with plain values. */
type Plain = { name: string; args: unknown[]; props: Record<string, unknown>; children: Plain[] };
function plain(nodes: KdlNode[]): Plain[] {
  return nodes.map((n) => ({
    name: n.name,
    args: n.args.map(plainValue),
    props: Object.fromEntries(Object.entries(n.props).map(([k, v]) => [k, plainValue(v)])),
    children: plain(n.children),
  }));
}
const node = (name: string, args: unknown[] = [], props = {}, children: Plain[] = []): Plain => ({
  name,
  args,
  props,
  children,
});
const parse = (text: string) => plain(parseKdl(text, "t.kdl"));

function syntaxError(text: string): KdlSyntaxError {
  try {
    parseKdl(text, "t.kdl");
  } catch (err) {
    if (err instanceof KdlSyntaxError) return err;
    throw err;
  }
  assert.fail(`expected a syntax error for ${JSON.stringify(text)}`);
}

Deno.test("parseKdl() reads names, arguments, properties and children", () => {
  const doc = parse('a 1 "two" k=3 {\n  b-c; "quoted name" x=#true\n}\n-\n');
  assert.deepEqual(doc, [
    node("a", [1, "two"], { k: 3 }, [node("b-c"), node("quoted name", [], { x: true })]),
    node("-"),
  ]);
});

Deno.test("parseKdl() accepts an empty document, comments only and a BOM", () => {
  assert.deepEqual(parse(""), []);
  assert.deepEqual(parse("\n\n  // nothing\n/* here */\n"), []);
  assert.deepEqual(parse("\uFEFFa 1"), [node("a", [1])]);
});

Deno.test("parseKdl() separates nodes by newlines, semicolons and CRLF", () => {
  assert.deepEqual(parse("a;b ; c\r\nd\re"), ["a", "b", "c", "d", "e"].map((n) => node(n)));
  assert.deepEqual(parse("p { q 1; r 2 }"), [node("p", [], {}, [node("q", [1]), node("r", [2])])]);
});

Deno.test("parseKdl() reads v1 and v2 keywords", () => {
  assert.deepEqual(parse("a true false null #true #false #null"), [
    node("a", [true, false, null, true, false, null]),
  ]);
});

Deno.test("parseKdl() reads numbers in every radix with separators and signs", () => {
  const doc = parse("n 0 -7 +3 1_000 3.25 1e3 2.5E-2 -1.5e+1 0xFF 0xff_ff -0o17 0b1010 0o7_7");
  assert.deepEqual(doc[0].args, [0, -7, 3, 1000, 3.25, 1000, 0.025, -15, 255, 65535, -15, 10, 63]);
});

Deno.test("parseKdl() rejects a radix prefix without digits", () => {
  assert.equal(syntaxError("n 0x_ff").problem, "invalid number `0x_ff`");
  assert.equal(syntaxError("n 0b").problem, "invalid number `0b`");
});

Deno.test("parseKdl() decodes string escapes", () => {
  const doc = parse(String.raw`s "a\nb\tc\"d\\e\/f\bg\fh\ri\u{41}\u{1F600}\s"`);
  assert.equal(doc[0].args[0], 'a\nb\tc"d\\e/f\bg\fh\ri' + "A\u{1F600} ");
});

Deno.test("parseKdl() keeps newlines in multi-line strings and skips escaped whitespace", () => {
  assert.equal(parse('s "a\nb"')[0].args[0], "a\nb");
  assert.equal(parse('s "a\\\n     b"')[0].args[0], "ab");
});

Deno.test("parseKdl() reads raw strings without escapes", () => {
  const doc = parse('r r"C:\\path" r#"say "hi""# #"v2 \\n"# r##"a"#b"##');
  assert.deepEqual(doc[0].args, ["C:\\path", 'say "hi"', "v2 \\n", 'a"#b']);
  assert.equal(doc[0].name, "r");
});

Deno.test("parseKdl() skips line, block and nested block comments", () => {
  const doc = parse("a /* x /* y */ z */ 1 // tail\n/* b */ c 2 /*\n multi\n*/ 3");
  assert.deepEqual(doc, [node("a", [1]), node("c", [2, 3])]);
});

Deno.test("parseKdl() joins lines with a backslash continuation", () => {
  assert.deepEqual(parse("a 1 \\\n  2 \\ // why\n  k=3\nb"), [
    node("a", [1, 2], { k: 3 }),
    node("b"),
  ]);
});

Deno.test("parseKdl() drops slashdashed nodes, arguments, properties and children", () => {
  const text = "/-gone 1 { x }\nkeep /-1 2 /-k=1 j=2 /-{ x } {\n  /- also-gone\n  y\n}\n/-\nz";
  assert.deepEqual(parse(text), [node("keep", [2], { j: 2 }, [node("y")])]);
  assert.deepEqual(parse("a /-{ x } { y }"), [node("a", [], {}, [node("y")])]);
});

Deno.test("parseKdl() accepts and records type annotations", () => {
  const nodes = parseKdl('(t)a (u8)1 k=(date)"2024" ("x y")"s"', "t.kdl");
  assert.deepEqual(plain(nodes), [node("a", [1, "s"], { k: "2024" })]);
  assert.equal(nodes[0].tag, "t");
  assert.equal(nodes[0].args[0].tag, "u8");
  assert.equal(nodes[0].props.k.tag, "date");
  assert.equal(nodes[0].args[1].tag, "x y");
});

Deno.test("parseKdl() reads a [ … ] list as one argument", () => {
  const text =
    'e ["a" "b"] [1, 2,3,] []\nf [\n  "x", // one\n  /* two */ "y"\n  /-"z"\n  [true null]\n]';
  assert.deepEqual(parse(text), [
    node("e", [["a", "b"], [1, 2, 3], []]),
    node("f", [["x", "y", [true, null]]]),
  ]);
});

Deno.test("parseKdl() keeps the last value of a repeated property and is safe for __proto__", () => {
  const nodes = parseKdl('a k=1 k=2 __proto__=3 "constructor"=4', "t.kdl");
  assert.deepEqual(plain(nodes)[0].props, JSON.parse('{"k":2,"__proto__":3,"constructor":4}'));
  assert.equal(Object.getPrototypeOf(nodes[0].props), Object.prototype);
});

Deno.test("parseKdl() records 1-based positions of nodes, arguments, properties and items", () => {
  const nodes = parseKdl('a "x\ny" k=1\n  b [1\n    2] /*c*/ 3\n\t\u{1F600}c\r\nd', "f.kdl");
  assert.deepEqual(nodes[0].pos, { file: "f.kdl", line: 1, col: 1 });
  assert.deepEqual(nodes[0].args[0].pos, { file: "f.kdl", line: 1, col: 3 });
  assert.deepEqual(nodes[0].props.k.pos, { file: "f.kdl", line: 2, col: 4 });
  const b = nodes[0].args.length === 1 ? nodes[1] : nodes[0];
  assert.deepEqual(b.pos, { file: "f.kdl", line: 3, col: 3 });
  const list = b.args[0].value as { pos: { line: number; col: number } }[];
  assert.deepEqual([list[0].pos.line, list[0].pos.col, list[1].pos.line, list[1].pos.col], [
    3,
    6,
    4,
    5,
  ]);
  assert.deepEqual([b.args[1].pos.line, b.args[1].pos.col], [4, 14]);
  assert.equal(nodes[2].name, "\u{1F600}c");
  assert.deepEqual([nodes[2].pos.line, nodes[2].pos.col], [5, 2]);
  assert.deepEqual([nodes[3].pos.line, nodes[3].pos.col], [6, 1]);
});

const errors: [string, string, number, number][] = [
  ['a 1\nlog-level "info\nb', "unterminated string", 2, 11],
  ['a r#"never', "unterminated raw string", 1, 3],
  ["a /* x /* y */", "unterminated block comment `/*`", 1, 3],
  ["a {\n  b {\n", "unterminated children block, expected `}`", 2, 5],
  ["a [1 2", "unterminated list, expected `]`", 1, 3],
  ['a "\\q"', "invalid escape `\\q` in string", 1, 4],
  ['a "\\u{110000}"', "invalid escape `\\u{110000}` in string", 1, 4],
  ["a 10ms", "invalid number `10ms`", 1, 3],
  ["a 1.", "invalid number `1.`", 1, 3],
  ["a open", 'bare word `open` is not a value; quote it: "open"', 1, 3],
  ["a k=open", 'bare word `open` is not a value; quote it: "open"', 1, 5],
  ["a }", "unexpected `}` without a matching `{`", 1, 3],
  ["}", "unexpected `}` without a matching `{`", 1, 1],
  ['a 1"b"', 'expected a space before `"`', 1, 4],
  ["a { b } 1", "arguments and properties must come before the children block", 1, 9],
  ["a { b } { c }", "a node has at most one children block", 1, 9],
  ['a "true"=1 true=2', '`true` cannot be a property name; quote it: "true"=…', 1, 12],
  ["a 1=2", '`1` cannot be a property name; quote it: "1"=…', 1, 3],
  ["true", '`true` is a keyword; quote it to use it as a name: "true"', 1, 1],
  ["1a", "expected a node name, found `1a`", 1, 1],
  ["#null", '`#null` is a keyword; quote it to use it as a name: "#null"', 1, 1],
  ["a \\ 1", "expected a newline after line continuation `\\`, found `1`", 1, 5],
  ["a #maybe", "unknown keyword `#maybe`", 1, 3],
  ["(t a", "unterminated type annotation, expected `)`", 1, 1],
  ["a k=", "expected a value, found end of file", 1, 5],
  ["a k= 1", "expected a value, found ` `", 1, 5],
  ["a /-", "`/-` must be followed by a value or block", 1, 5],
  ['a ["x""y"]', 'expected `,` or `]` in list, found `"`', 1, 7],
  ["a [1 ;]", "expected a value, found `;`", 1, 6],
  [
    'e ["a"\nnext 1',
    "bare word `next` is not a value; quote it, or close the list opened at 1:3 with `]`",
    2,
    1,
  ],
  ["a (", "expected a type name, found end of file", 1, 4],
];

for (const [text, problem, line, col] of errors) {
  Deno.test(`parseKdl() reports "${problem}" at ${line}:${col}`, () => {
    const err = syntaxError(text);
    assert.equal(err.problem, problem);
    assert.deepEqual(err.pos, { file: "t.kdl", line, col });
    assert.equal(err.code, "config_syntax");
    assert.equal(err.message, `t.kdl:${line}:${col}: ${problem}`);
  });
}
