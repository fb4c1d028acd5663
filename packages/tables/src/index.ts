/**
 * @rtkd/tables: reproduce knowledge-distillation tables. A table spec (dataset, pairs, methods,
 * seeds, recipe, budgets, published numbers) expands into cells — teachers first, then students —
 * that run in local worker processes or on BullMQ workers on any number of machines sharing one
 * folder, and aggregate into mean ± std tables in Markdown, CSV, JSON and LaTeX.
 */
export { loadSpec, parseSpec, budgetRecipe, pairKey, STUDENT_ALONE, TEACHER_ROW, type TableSpec, type Pair, type Method } from './spec.js';
export { RECIPE_KEYS, BUILTIN_BUDGETS, type Recipe } from './recipe.js';
export { planTable, parseCell, cellHash, cellTrainConfig, dependencies, type Cell, type CellLoss, type PlannedRow, type TablePlan, type PlanOptions } from './cells.js';
export { checkApplicable, ensureBackend } from './applicable.js';
export { cellState, stateAt, beginCell, recordFailure, assertWritableStore, CELL_FILE, FAILURE_FILE, type CellState } from './store.js';
export { runCell, assertTeacherDone, TeacherNotReadyError, type RunCellOptions } from './run-cell.js';
export { startCellProcess, CellFailedError, type CellProcess, type CellProgress } from './spawn.js';
export { runLocal, storeProgress, cellEpochs, type LocalOptions } from './local.js';
export { ProgressTracker, formatProgress, formatDuration, type ProgressView } from './progress.js';
export { buildTable, writeTable, tableMarkdown, tableCsv, tableLatex, meanStd, formatMeanStd, type TableJson, type TableRow, type MeanStd } from './table.js';
export { SpecError, CellValidationError, RedisUnreachableError, StoreNotWritableError } from './errors.js';
export { measureCost, type TableCost, type MeasuredStep, type CostOptions } from './cost.js';
export { enqueueTable, waitForTable, queueProgress, startWorker, queueName, QUEUE_FILE, type RedisOptions, type WorkerOptions, type TableWorker } from './distributed.js';
export { parseRedisUrl, redactRedisUrl, probeRedis, type RedisConnection } from './redis.js';
