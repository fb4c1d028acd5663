/** Shared types of the dataset package. */

/** Images as uint8 NHWC plus integer labels: what every loader returns. */
export interface ImageDataset {
  /** Registry name of the dataset, e.g. `cifar10`. */
  readonly name: string;
  /** The split the images come from, e.g. `train`. */
  readonly split: string;
  /** Pixels, uint8, NHWC, row-major: pixel (n, r, c, ch) is at `((n*h + r)*w + c)*ch_count + ch`. */
  readonly images: Uint8Array;
  /** `[n, h, w, c]`. */
  readonly shape: readonly [number, number, number, number];
  /** One class index per image, in `0..classes.length-1`. */
  readonly labels: Int32Array;
  /** Class names; `labels[i]` indexes this list. */
  readonly classes: readonly string[];
}

/** Training-time augmentation: a random crop of the original size after zero padding, and an optional horizontal flip. */
export interface AugmentSpec {
  /** Zero padding on each side before the random crop; 0 disables the crop. */
  readonly padding: number;
  /** Flip horizontally with probability 0.5. */
  readonly flip: boolean;
}

/** Per-channel mean and standard deviation of pixels scaled to [0, 1]. */
export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** One downloadable file of a dataset. */
export interface DatasetFile {
  /** File name under the root, e.g. `cifar-10-binary.tar.gz`. */
  readonly name: string;
  /** Official URL (callers can override it: mirrors die). */
  readonly url: string;
  /** Expected md5 of the whole file, lowercase hex. */
  readonly md5: string;
  /** Expected size in bytes, when known. */
  readonly size?: number;
}

/** Progress of a download, reported to `onProgress`. */
export interface DownloadProgress {
  readonly file: string;
  readonly receivedBytes: number;
  /** From content-length, or the registry's size; undefined when unknown. */
  readonly totalBytes: number | undefined;
}

/** Options shared by download-capable calls. */
export interface DownloadOptions {
  /** Replacement URL per file name (mirrors), e.g. `{ 'cifar-10-binary.tar.gz': 'https://mirror/…' }`. */
  readonly urls?: Readonly<Record<string, string>>;
  /** Replacement md5 per file name (only for a mirror that repackaged the file). */
  readonly md5s?: Readonly<Record<string, string>>;
  /** Called as bytes arrive. */
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** No progress bar on stderr. */
  readonly quiet?: boolean;
}

/** Options of {@link loadDataset}. */
export interface LoadOptions extends DownloadOptions {
  /** Folder holding the dataset files (archives or their extracted folders). Not needed for `digits`. */
  readonly root?: string;
  /** Split to load; defaults to `train`. */
  readonly split?: string;
  /** Download the files the split needs when they are missing. */
  readonly download?: boolean;
  /** CIFAR-100 only: `fine` (100 classes, default) or `coarse` (20 superclasses). */
  readonly label?: 'fine' | 'coarse';
}

/** What a registry entry's `load` receives. */
export interface LoadContext {
  /** Absolute root folder (empty string for datasets without files). */
  readonly root: string;
  readonly split: string;
  readonly options: LoadOptions;
}

/** A registry entry: everything known about one dataset, and how to load it. */
export interface DatasetSpec {
  /** Unique name, e.g. `cifar10`. */
  readonly name: string;
  /** One line for `rtkd data list`. */
  readonly description: string;
  /** Split names and their official image counts. */
  readonly splits: Readonly<Record<string, number>>;
  /** Class names in label order. */
  readonly classes: readonly string[];
  /** `[h, w, c]` of every image. */
  readonly imageShape: readonly [number, number, number];
  /** Per-channel mean/std on [0, 1] pixels, for normalisation. */
  readonly normalization: Normalization;
  /** Default training augmentation. */
  readonly augment: AugmentSpec;
  /** Files to download (empty for embedded data). */
  readonly files: readonly DatasetFile[];
  /** Names of the files a split needs (defaults to all files). */
  readonly filesForSplit?: (split: string) => readonly string[];
  /** Reads one split from disk. */
  readonly load: (context: LoadContext) => Promise<ImageDataset>;
}
