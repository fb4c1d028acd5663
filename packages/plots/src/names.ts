/** Test top-1 per epoch of several runs. */
export const ACCURACY = 'accuracy';
/** Each loss term per epoch. */
export const LOSSES = 'losses';
/** Attention heatmaps side by side at one epoch. */
export const ATTENTION = 'attention';
/** Attention heatmaps over epochs. */
export const ATTENTION_STRIP = 'attention-strip';
/** Row entropy and per-teacher terms of the attention losses over epochs. */
export const ATTENTION_TERMS = 'attention-terms';
/** Kept-fraction maps at one epoch. */
export const KEPT = 'kept';
/** The SoftPool resizing figure. */
export const SOFTPOOL = 'softpool';
/** Per-method bars of a table run. */
export const TABLE = 'table';
