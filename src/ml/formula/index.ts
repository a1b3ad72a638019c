/**
 * The formula language of the "ML dummy" power model: public API.
 *
 * A router type's power model is a small text file (models/dummy/*.txt) giving the power
 * `energy_consumption` as an expression in x (capacity occupation, fraction 0..1) and y
 * (average packet length, bytes), and optionally its partial derivatives `dz/dx`, `dz/dy`.
 *
 * Modules:
 * - errors.ts   FormulaError (code, reason, line/column/offset) and the input limits;
 * - lexer.ts    expression text → tokens;
 * - parser.ts   tokens → expression tree, hand-written recursive descent (why hand-written,
 *               and not mathjs & co., is explained at the top of that file);
 * - names.ts    the only names an expression can reach: variables, constants, functions;
 * - ast.ts      the tree types and the printer;
 * - derive.ts   symbolic differentiation with simplification;
 * - compile.ts  tree → closure tree `(x, y) => number` (no eval/Function/vm);
 * - file.ts     the file format, loadFormulaFile, evaluateDummy;
 * - bundled.ts  the formula files shipped in models/dummy/.
 *
 * Every failure is a FormulaError; evaluation itself never throws.
 */
export {
  FormulaError,
  MAX_DEPTH,
  MAX_DERIVATIVE_NODES,
  MAX_EXPRESSION_LENGTH,
  MAX_FILE_BYTES,
  type ExpressionOrigin,
  type FormulaErrorCode,
  type FormulaErrorDetails,
} from './errors.js';
export { formatExpression, variablesOf, expandedSize, dagSize, heightOf, type Node, type VarName, type BinaryOp } from './ast.js';
export { parseExpression } from './parser.js';
export { derive, type DeriveOptions } from './derive.js';
export { compile, evaluate, type CompiledExpr } from './compile.js';
export { CONSTANTS, FUNCTIONS, VARIABLES, type FunctionSpec, type DerivativeKind } from './names.js';
export {
  evaluateDummy,
  formulaFromExpressions,
  loadFormulaFile,
  loadFormulaFileSync,
  parseFormulaFile,
  type DummyFormula,
  type DummyPrediction,
} from './file.js';
export { BUNDLED_FORMULA_DIR, DEFAULT_FORMULA_NAME, bundledFormulaPath, loadBundledFormula } from './bundled.js';

import { compile, type CompiledExpr } from './compile.js';
import type { ExpressionOrigin } from './errors.js';
import { parseExpression } from './parser.js';

/** Parses and compiles one expression: `compileExpression('20 * x^2')(0.5, 0) === 5`. */
export function compileExpression(text: string, origin?: ExpressionOrigin): CompiledExpr {
  return compile(parseExpression(text, origin));
}
