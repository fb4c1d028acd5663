/**
 * Reuse of the native kernels' output arrays.
 *
 * Every kernel output is a new ArrayBuffer outside V8's heap. A WRN-40-2 → WRN-16-2 training step
 * allocates gigabytes of them, and V8 answers the growing external memory with a full mark-compact
 * every ~30 ms whose concurrent marking takes the second core away from the kernels (measured: the
 * WRN-40-2 forward pass 230–260 ms with it, 174 ms with V8's GC kept on the main thread).
 *
 * So the arrays the kernels allocate are recycled: the backend instance a native kernel first runs
 * on is hooked so that it counts, per ArrayBuffer, the tensors (data ids) whose values view it —
 * `write`/`move` add one, `disposeData` removes one when TF.js really drops the data. When the count
 * of an array the kernels allocated falls to zero, the array goes to a free list and the next output
 * of the same length reuses it; free arrays not reused for a while are dropped. An array TF.js has handed to user code (`readSync`/`read`, behind
 * `dataSync`/`data`/`array`) is never reused: the caller may keep it after disposing the tensor.
 */

interface TensorData {
  values?: unknown;
}

/** The members of tfjs-backend-cpu's backend this module hooks. */
interface HookableBackend {
  data: { get(dataId: object): TensorData | undefined; has(dataId: object): boolean };
  write(values: unknown, shape: number[], dtype: string): object;
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
}

/** Below this many elements a fresh zero-filled array costs nothing worth avoiding. */
const RECYCLE_MIN_LENGTH = 4096;

/** Fresh outputs of this many elements (2 MiB) or more go on transparent huge pages where the OS has them. */
const HUGE_PAGE_MIN_LENGTH = 2 ** 19;

/** The source of huge-page arrays (the addon's `hugePageArray`), or undefined: ordinary pages. */
let hugePageArray: ((n: number) => Float32Array | undefined) | undefined;

/**
 * Lets fresh output arrays of 2 MiB or more come from `source` (the addon's `hugePageArray`: whole
 * 2 MiB blocks with transparent huge pages asked for; undefined where the OS cannot), or from
 * ordinary pages again with `undefined`. Process-wide, like the arrays' memory.
 */
export function useHugePagesForLargeOutputs(source: ((n: number) => Float32Array | undefined) | undefined): void {
  hugePageArray = source;
}

/** A fresh array of `n` elements whose contents the caller overwrites entirely. */
function freshArray(n: number): Float32Array {
  const huge = n >= HUGE_PAGE_MIN_LENGTH ? hugePageArray?.(n) : undefined;
  if (huge) return huge;
  // Not zero-filled: every native kernel writes its whole output.
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}

/** Free arrays kept for reuse at most (bytes); beyond it released arrays are left to the GC. */
const MAX_FREE_BYTES = 4 * 2 ** 30;

/**
 * A free array not reused within this many allocations is dropped (left to the GC), so shapes a
 * program stopped using (another model, an eval batch size) do not stay reserved. A distillation
 * step of WRN-40-2 → WRN-16-2 makes about a thousand allocations.
 */
const MAX_IDLE_ALLOCATIONS = 16384;
const SWEEP_EVERY = 1024;

interface FreeArray {
  array: Float32Array;
  releasedAt: number;
}

/** The free list and the per-buffer view counts of one backend instance. */
class OutputRecycler {
  /** Buffers the kernels allocated and nobody outside TF.js has seen → live views and the full array. */
  private readonly owned = new Map<ArrayBufferLike, { array: Float32Array; views: number }>();
  private readonly free = new Map<number, FreeArray[]>();
  private freeBytes = 0;
  private allocations = 0;

  /** A Float32Array of `n` elements whose contents the caller overwrites entirely. */
  take(n: number): Float32Array {
    if (n < RECYCLE_MIN_LENGTH) return new Float32Array(n);
    if (++this.allocations % SWEEP_EVERY === 0) this.dropIdle();
    const reused = this.free.get(n)?.pop()?.array;
    if (reused) {
      this.freeBytes -= reused.byteLength;
      this.owned.set(reused.buffer, { array: reused, views: 0 });
      return reused;
    }
    const array = freshArray(n);
    this.owned.set(array.buffer, { array, views: 0 });
    return array;
  }

  /** A tensor's values started to view `values`. */
  retain(values: unknown): void {
    const entry = this.entryOf(values);
    if (entry) entry.views += 1;
  }

  /** A tensor's values stopped viewing `values`; the array is free once no tensor views it. */
  release(values: unknown): void {
    const entry = this.entryOf(values);
    if (!entry || --entry.views > 0) return;
    this.owned.delete(entry.array.buffer);
    if (this.freeBytes + entry.array.byteLength > MAX_FREE_BYTES) return;
    const list = this.free.get(entry.array.length) ?? [];
    list.push({ array: entry.array, releasedAt: this.allocations });
    this.free.set(entry.array.length, list);
    this.freeBytes += entry.array.byteLength;
  }

  /** `values` left TF.js (read by user code): its buffer must never be reused. */
  expose(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.owned.delete(values.buffer);
  }

  private dropIdle(): void {
    for (const [length, list] of this.free) {
      const keep = list.filter((f) => this.allocations - f.releasedAt <= MAX_IDLE_ALLOCATIONS);
      this.freeBytes -= (list.length - keep.length) * length * 4;
      if (keep.length) this.free.set(length, keep);
      else this.free.delete(length);
    }
  }

  private entryOf(values: unknown): { array: Float32Array; views: number } | undefined {
    return ArrayBuffer.isView(values) ? this.owned.get(values.buffer) : undefined;
  }
}

const recyclers = new WeakMap<object, OutputRecycler>();

/** Wraps the backend's data methods so the recycler sees every view of its arrays come and go. */
function hook(backend: HookableBackend, recycler: OutputRecycler): void {
  const { write, move, disposeData, readSync, read } = backend;
  backend.write = function (values, shape, dtype) {
    const dataId = write.call(this, values, shape, dtype);
    recycler.retain(values);
    return dataId;
  };
  backend.move = function (dataId, values, shape, dtype, refCount) {
    move.call(this, dataId, values, shape, dtype, refCount);
    recycler.retain(values);
  };
  backend.disposeData = function (dataId, force) {
    // `has` first: DataStorage.get of an unknown id would pull the data over from another backend.
    const values = this.data.has(dataId) ? this.data.get(dataId)?.values : undefined;
    const released = disposeData.call(this, dataId, force);
    if (values !== undefined && !this.data.has(dataId)) recycler.release(values);
    return released;
  };
  backend.readSync = function (dataId) {
    const values = readSync.call(this, dataId);
    recycler.expose(this.data.get(dataId)?.values);
    return values;
  };
  backend.read = function (dataId) {
    const values = read.call(this, dataId);
    recycler.expose(this.data.get(dataId)?.values);
    return values;
  };
}

function isHookable(backend: object): backend is HookableBackend {
  const b = backend as Partial<HookableBackend>;
  return typeof b.write === 'function' && typeof b.move === 'function' && typeof b.disposeData === 'function'
    && typeof b.readSync === 'function' && typeof b.read === 'function' && typeof b.data?.get === 'function' && typeof b.data?.has === 'function';
}

/**
 * A Float32Array of `n` elements for an output of a native kernel running on `backend`, which the
 * kernel overwrites entirely: a released array of the same length when there is one. The first
 * call for a backend instance hooks it (see the module comment); a backend that does not look like
 * tfjs-backend-cpu's gets fresh arrays.
 */
export function outputArray(backend: object, n: number): Float32Array {
  let recycler = recyclers.get(backend);
  if (!recycler) {
    if (!isHookable(backend)) return new Float32Array(n);
    recycler = new OutputRecycler();
    hook(backend, recycler);
    recyclers.set(backend, recycler);
  }
  return recycler.take(n);
}
