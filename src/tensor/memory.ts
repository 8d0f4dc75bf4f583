// Memory scopes, as in TensorFlow.js: tidy(fn) frees every tensor created inside fn that fn does
// not return. Tensors created outside any scope live until dispose() (or, as a safety net,
// until the garbage collector finalizes their handle).
import { native } from './native.js';

/** Anything that owns native memory and can be freed. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Disposable[][] = [];

/** Called by every new tensor: the innermost scope, if any, now owns it. */
export function track(t: Disposable): void {
  const s = scopes[scopes.length - 1];
  if (s) s.push(t);
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if ('dispose' in value && 'isDisposed' in value) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, out, depth + 1);
}

/**
 * Runs fn in a new scope. Tensors created inside and not reachable from the result (directly,
 * or inside arrays, Maps and plain objects) are disposed; returned ones move to the outer scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Disposable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy(fn): fn must be synchronous (it returned a Promise)');
  }
  const kept = new Set<Disposable>();
  collect(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.push(t);
    else t.dispose();
  }
  return result;
}

/** Removes t from the current scopes so tidy() will not free it (e.g. a model parameter). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) {
    const i = s.lastIndexOf(t);
    if (i >= 0) s.splice(i, 1);
  }
  return t;
}

/** Disposes every tensor found in value (arrays, Maps, plain objects). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) t.dispose();
}

/** Live native tensors and the bytes they hold (views count their own size). */
export function memory(): { tensors: number; bytes: number } {
  return { tensors: native.liveTensors(), bytes: native.liveBytes() };
}
