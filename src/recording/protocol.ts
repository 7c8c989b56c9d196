/** Messages between the relay thread (remote.ts) and the recording thread (thread.ts). */
import type { CastHeader, CastSummary, CastWriterOptions, UnrecordedTail } from './writer.js';

/**
 * One recorded piece: [kind, recording id, arrival time (absNow ms), ...]. Bytes of 'o'/'i' are at
 * [offset, length] in the batch's buffer; 'r' carries cols, rows; 'm' the label.
 */
export type BatchEvent =
  | readonly ['o' | 'i', number, number, number, number]
  | readonly ['r', number, number, number, number]
  | readonly ['m', number, number, string]
  /** A screen sample of unrecorded output during a flood (flood.ts): offset, length, still flooding (1) or over (0). */
  | readonly ['s', number, number, number, number, 0 | 1];

export type ToThread =
  | { readonly op: 'open'; readonly id: number; readonly path: string; readonly header: CastHeader; readonly opts: Omit<CastWriterOptions, 'onError' | 'onStop'> }
  | { readonly op: 'batch'; readonly events: readonly BatchEvent[]; readonly data: ArrayBuffer; readonly length: number }
  | { readonly op: 'watch'; readonly id: number; readonly req: number }
  | { readonly op: 'unwatch'; readonly id: number }
  | { readonly op: 'close'; readonly id: number; readonly tail?: UnrecordedTail };

export type FromThread =
  | { readonly op: 'opened'; readonly id: number }
  | { readonly op: 'error'; readonly id: number; readonly message: string; readonly opening?: boolean }
  | { readonly op: 'ack'; readonly bytes: number }
  /** Recording stopped (cap, binary): output from `offset` on is the relay thread's to hash. */
  | { readonly op: 'stopped'; readonly id: number; readonly offset: number }
  | { readonly op: 'followed'; readonly id: number; readonly text: string }
  | { readonly op: 'followedResize'; readonly id: number; readonly cols: number; readonly rows: number }
  | { readonly op: 'followedScreen'; readonly id: number; readonly text: string; readonly flooding: boolean }
  | { readonly op: 'handoff'; readonly id: number; readonly req: number; readonly path?: string; readonly bytes?: number; readonly error?: string }
  | { readonly op: 'closed'; readonly id: number; readonly summary?: CastSummary; readonly file?: string; readonly error?: string };
