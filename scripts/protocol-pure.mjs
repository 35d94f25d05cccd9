// The agent bundle's view of src/protocol: every call made while a protocol module is evaluated
// (building zod schemas, regular expressions, tables) is marked `/* @__PURE__ */`, so esbuild leaves
// out each top-level constant the agent never reaches, schema by schema, not module by module.
// zod schemas are built with calls (`z.object(...)`), and to a bundler a call may have an effect, so
// without this every schema of every protocol module the agent imports was built and kept in the
// heap for good: ~1,340 of them, of which the agent reaches ~730 (bench/RESULTS.md, "agent memory,
// seventh session"). The hub and the CLI run tsc's output and are not touched.
//
// It is sound because a protocol module only defines things: it imports nothing of ours with an
// effect, and nothing at its top level runs for an effect. The transform checks that and fails the
// build naming the statement otherwise (an expression statement, a class with static parts). Calls
// inside functions are not marked: there a call's result is often unused on purpose
// (`hash.update(x)`), and marking it would delete it.
import ts from 'typescript';

const FUNCTION_KINDS = new Set([
  ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
  ts.SyntaxKind.ClassExpression,
]);

/** Statements that define without running anything of their own at module evaluation. */
const DEFINING_KINDS = new Set([
  ts.SyntaxKind.ImportDeclaration,
  ts.SyntaxKind.ExportDeclaration,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.EmptyStatement,
]);

export class ProtocolEffectError extends Error {
  code = 'PROTOCOL_TOP_LEVEL_EFFECT';
}

/** Positions of the calls and `new`s evaluated when the module's top level runs. */
function topLevelCallStarts(sourceFile, statement) {
  const starts = new Set();
  const visit = (node) => {
    if (FUNCTION_KINDS.has(node.kind)) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node)) starts.add(node.getStart(sourceFile));
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(statement, visit);
  return starts;
}

function where(sourceFile, node) {
  const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return `${sourceFile.fileName}:${line + 1}`;
}

/**
 * The module's source with `/* @__PURE__ *\/` before each call its top level evaluates. Throws a
 * ProtocolEffectError for a top-level statement that is not a definition.
 */
export function markTopLevelCallsPure(source, fileName) {
  const sourceFile = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const starts = new Set();
  for (const statement of sourceFile.statements) {
    if (DEFINING_KINDS.has(statement.kind)) continue;
    const isClassWithoutStatics =
      ts.isClassDeclaration(statement) &&
      !statement.members.some((m) => ts.isClassStaticBlockDeclaration(m) || (m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword) && ts.isPropertyDeclaration(m) && m.initializer));
    if (isClassWithoutStatics) continue;
    const isVariables = ts.isVariableStatement(statement) && (statement.declarationList.flags & ts.NodeFlags.BlockScoped) !== 0;
    const isEnum = ts.isEnumDeclaration(statement);
    if (!isVariables && !isEnum) throw new ProtocolEffectError(`${where(sourceFile, statement)}: a protocol module's top level may only define (const/let, functions, types); this statement runs for its effect, which the agent bundle's pure marking would drop (scripts/protocol-pure.mjs)`);
    for (const start of topLevelCallStarts(sourceFile, statement)) starts.add(start);
  }
  let out = source;
  for (const start of [...starts].sort((a, b) => b - a)) out = `${out.slice(0, start)}/* @__PURE__ */ ${out.slice(start)}`;
  return out;
}
