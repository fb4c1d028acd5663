import { Module, sharedRegistry } from '@rtkd/core';
import { TAP_ROLES } from '@rtkd/models';
import type { CreateContext, CreatedLoss, DistillationLoss, LossDefaults, LossDefinition, LossShapes } from './types.js';

// biome-ignore lint: the registry stores entries of any option type
type AnyLoss = LossDefinition<any, CreatedLoss>;

/** Layout version of the registry's entries (see `sharedRegistry`). */
const REGISTRY_FORMAT = 1;

// One registry for every copy of @rtkd/losses in the process (a plug-in's own copy included).
const registry = sharedRegistry<AnyLoss>('losses', REGISTRY_FORMAT, '@rtkd/losses');

const RECIPE_KEYS = ['ceWeight', 'klWeight', 'temperature'] as const;

/** Why a value is not what a field needs: `a function, got undefined`. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Checks a definition's fields; the error names the loss and the field. */
function checkDefinition(definition: unknown): asserts definition is AnyLoss {
  if (typeof definition !== 'object' || definition === null) throw new Error(`registerLoss: expected a loss definition object, got ${describe(definition)}`);
  const d = definition as Record<string, unknown>;
  if (typeof d.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(d.name)) {
    throw new Error(`registerLoss: invalid name ${describe(d.name)} (a string of lower-case letters, digits and '-', starting with a letter)`);
  }
  const fail = (field: string, expected: string, found: unknown) => new Error(`registerLoss '${d.name as string}': '${field}' must be ${expected}, got ${describe(found)}`);
  if (typeof d.description !== 'string') throw fail('description', 'a string (one line for `rtkd losses`)', d.description);
  if (!Array.isArray(d.taps) || !d.taps.every((t) => (TAP_ROLES as readonly unknown[]).includes(t))) {
    throw fail('taps', `an array of tap roles (${TAP_ROLES.join(', ')})`, d.taps);
  }
  if (typeof d.create !== 'function') throw fail('create', 'a function (shapes, options, context) => loss', d.create);
  if (typeof d.defaults !== 'object' || d.defaults === null || Array.isArray(d.defaults)) throw fail('defaults', 'an object with at least { weight }', d.defaults);
  const defaults = d.defaults as Record<string, unknown>;
  if (typeof defaults.weight !== 'number' || !(defaults.weight >= 0) || !Number.isFinite(defaults.weight)) {
    throw fail('defaults.weight', 'a finite number ≥ 0 (β, the default weight)', defaults.weight);
  }
  for (const key of RECIPE_KEYS) {
    const value = defaults[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) throw fail(`defaults.${key}`, 'a finite number ≥ 0 when present', value);
  }
  const optional = d.optionalOptions;
  if (optional !== undefined && !(Array.isArray(optional) && optional.every((k) => typeof k === 'string' && !(k in defaults)))) {
    throw fail('optionalOptions', 'an array of option names that are not keys of defaults', optional);
  }
}

/**
 * Adds a loss to the registry (shared by every copy of @rtkd/losses in the process). Checks the
 * definition first: a missing or wrongly typed field throws an error naming the loss and the field.
 * Throws if the name is taken.
 */
export function registerLoss<O extends object, C extends CreatedLoss>(definition: LossDefinition<O, C>): void {
  checkDefinition(definition);
  if (registry.has(definition.name)) throw new Error(`registerLoss: a loss named '${definition.name}' is already registered`);
  registry.set(definition.name, definition as AnyLoss);
}

/** Registers `definition` unless a loss of its name is there (another copy of this package registered the built-ins). */
export function registerBuiltinLoss<O extends object>(definition: LossDefinition<O>): void {
  if (!registry.has(definition.name)) registerLoss(definition);
}

/** Removes a loss (for tests and plug-ins that replace one); returns whether it existed. */
export function unregisterLoss(name: string): boolean {
  return registry.delete(name);
}

/** The registered loss `name`; throws listing the known names if there is none. */
export function getLoss(name: string): AnyLoss {
  const definition = registry.get(name);
  if (!definition) throw new Error(`Unknown loss '${name}'. Known losses: ${[...registry.keys()].sort().join(', ')}`);
  return definition;
}

/**
 * Every option name the registered loss `name` accepts: its defaults' keys, then its
 * `optionalOptions` (configuration checks reject the rest). Throws like {@link getLoss}.
 */
export function lossOptionNames(name: string): string[] {
  const definition = getLoss(name);
  return [...Object.keys(definition.defaults), ...(definition.optionalOptions ?? [])];
}

/** True when a loss of that name is registered. */
export function hasLoss(name: string): boolean {
  return registry.has(name);
}

/** Name, taps, default weight and description of every registered loss, in registration order. */
export function listLosses(): { name: string; taps: readonly string[]; weight: number; description: string }[] {
  return [...registry.values()].map((d) => ({ name: d.name, taps: d.taps, weight: d.defaults.weight, description: d.description }));
}

/** Number of registered losses (to tell whether an import registered any). */
export function lossCount(): number {
  return registry.size;
}

/**
 * Builds a live loss: calls the definition's `create` (by name or definition) and checks what it
 * returns, so a mistake in a plug-in is reported where it happens, naming the loss and the field,
 * not deep inside a trainer. A loss without parameters may leave out `module` and `dispose`.
 *
 * @example
 * const loss = createLoss('at', shapes, getLoss('at').defaults, { rng: new Rng(0) });
 */
export function createLoss(nameOrDefinition: string | AnyLoss, shapes: LossShapes, options: LossDefaults & Record<string, unknown>, context: CreateContext): DistillationLoss {
  const definition = typeof nameOrDefinition === 'string' ? getLoss(nameOrDefinition) : nameOrDefinition;
  const created = definition.create(shapes, options, context) as unknown;
  return checkCreated(definition.name, created);
}

function checkCreated(name: string, created: unknown): DistillationLoss {
  const fail = (field: string, expected: string, found: unknown) => new Error(`loss '${name}': create() returned ${field === '' ? '' : `a loss whose '${field}' is `}${describe(found)}; expected ${expected}`);
  if (typeof created !== 'object' || created === null) throw fail('', 'an object with compute(ctx)', created);
  const c = created as Record<string, unknown>;
  if (typeof c.compute !== 'function') throw fail('compute', 'a function (ctx) => scalar', c.compute);
  if (c.name !== undefined && c.name !== name) throw fail('name', `'${name}' (the registry name) or nothing`, c.name);
  if (c.module !== undefined && !isModule(c.module)) throw fail('module', 'a @rtkd/core Module (or nothing, for a loss without parameters)', c.module);
  if (c.dispose !== undefined && typeof c.dispose !== 'function') throw fail('dispose', 'a function or nothing', c.dispose);
  if (c.trainableParameters !== undefined && !Array.isArray(c.trainableParameters)) throw fail('trainableParameters', 'an array of tf.Variables or nothing', c.trainableParameters);
  if (c.contributesToMainStage !== undefined && typeof c.contributesToMainStage !== 'boolean') throw fail('contributesToMainStage', 'a boolean or nothing', c.contributesToMainStage);
  for (const hook of ['getState', 'setState'] as const) {
    if (c[hook] !== undefined && typeof c[hook] !== 'function') throw fail(hook, 'a function or nothing', c[hook]);
  }
  if (c.init !== undefined) checkInit(c.init, fail);
  const module = (c.module as Module | undefined) ?? new Module();
  const dispose = (c.dispose as (() => void) | undefined) ?? (() => module.dispose());
  // The same object, so a loss's own methods keep their `this`; only missing fields are added.
  return Object.assign(created as object, { name, module, dispose }) as DistillationLoss;
}

function checkInit(init: unknown, fail: (field: string, expected: string, found: unknown) => Error): void {
  if (typeof init !== 'object' || init === null) throw fail('init', 'an object { epochs, trainsStudent, parameters, compute } or nothing', init);
  const i = init as Record<string, unknown>;
  if (!Number.isInteger(i.epochs) || (i.epochs as number) < 0) throw fail('init.epochs', 'an integer ≥ 0', i.epochs);
  if (typeof i.trainsStudent !== 'boolean') throw fail('init.trainsStudent', 'a boolean', i.trainsStudent);
  if (!Array.isArray(i.parameters)) throw fail('init.parameters', 'an array of tf.Variables', i.parameters);
  if (typeof i.compute !== 'function') throw fail('init.compute', 'a function (ctx) => scalar', i.compute);
  if (i.learningRate !== undefined && !(typeof i.learningRate === 'number' && i.learningRate > 0)) throw fail('init.learningRate', 'a positive number or nothing', i.learningRate);
}

/** Duck-typed: a Module from any copy of @rtkd/core. */
function isModule(value: unknown): value is Module {
  const m = value as Module;
  return typeof value === 'object' && value !== null && typeof m.parameters === 'function' && typeof m.namedParameters === 'function' && typeof m.stateDict === 'function'
    && typeof m.loadStateDict === 'function' && typeof m.dispose === 'function';
}
