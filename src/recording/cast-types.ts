/**
 * The shapes around an asciicast recording: its header, what a closed one reports, the writer's
 * options, and what a live view is handed (writer.ts writes; live.ts and remote.ts follow).
 */
import type { StreamRedactor } from './redact.js';

export interface CastHeader {
  readonly width: number;
  readonly height: number;
  /** Unix seconds at the start. */
  readonly timestamp: number;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Gatehouse fields; players ignore keys they do not know. */
  readonly session_id: string;
  readonly grant_id: string;
  readonly incident: string;
  readonly user: string;
  readonly target: string;
  readonly broker: string;
  readonly kind: 'shell' | 'exec';
  readonly command?: string | null;
}

export interface CastSummary {
  readonly sha256: string;
  readonly bytes: number;
  /** Output was cut at the cap or elided as binary. */
  readonly truncated: boolean;
}

export interface CastWriterOptions {
  readonly maxOutputBytes: number;
  /** Called once on the first write error; the writer is dead afterwards. */
  readonly onError: (err: Error) => void;
  /** Queued bytes above which `congested` turns true (the session then pauses the target). */
  readonly highWaterMark?: number;
  /** Mask secrets in output and input (redact.ts). Default true. */
  readonly redact?: boolean;
  /** Record keystrokes (`i` events). Default true; never after a password prompt. */
  readonly input?: boolean;
  /** Compress the file to `.cast.gz` when it is closed. Default false. */
  readonly gzip?: boolean;
  /**
   * When set, output past the stop (cap or binary) is accounted for by the caller: the writer calls
   * this with the output offset where the unrecorded stream begins, and `close(tail)` gets its count
   * and SHA-256 (remote.ts: the relay thread hashes those bytes instead of shipping them here).
   */
  readonly onStop?: (offset: number) => void;
}

/** The unrecorded output's count and SHA-256, when the caller hashed it (see onStop). */
export interface UnrecordedTail {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Where the live view continues from (recording/live.ts): the file holds exactly the first `bytes`
 * bytes of what was recorded (lines are written synchronously, file.ts). Taken synchronously
 * between two chunks, in the same tick as `follow()`, so nothing is missed or repeated. The redactor and UTF-8 decoder
 * state are copies of the writer's at this instant (for a viewer that redacts raw output itself).
 */
export interface LiveHandoff {
  readonly path: string;
  readonly bytes: number;
  readonly redactor: StreamRedactor | null;
  /** Bytes of an incomplete UTF-8 character the decoder holds. */
  readonly partial: Buffer;
  /** Output is no longer recorded (cap, binary): the file stops short of the live screen. */
  readonly stopped: boolean;
}

/** Follows what is recorded, as it is recorded: output already redacted, resizes, and the stop. */
export interface OutputFollower {
  output(text: string): void;
  resize(cols: number, rows: number): void;
  /** Output recording stopped (cap, binary output); output() goes on for the follower. */
  stopped?(): void;
  /** During a flood of unrecorded output: the screen to redraw from (sample.ts), instead of every byte. */
  screen?(text: string, flooding: boolean): void;
}
