/**
 * The formula language of the "ML dummy" power model: public API. The files, the file format,
 * the grammar and why it is hand-written: docs/formula-language.md.
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
