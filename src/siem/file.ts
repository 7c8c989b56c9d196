/**
 * JSONL file sink: one event per line, appended, fdatasync'd per batch before the cursor moves, so
 * a crash can duplicate the tail of a batch (consumers de-duplicate by `id`) but never lose it.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEvent } from '../events/types.js';
import type { Sink } from './types.js';

export class FileSink implements Sink {
  private handle: FileHandle | null = null;

  constructor(
    readonly name: string,
    private readonly path: string,
    readonly accepts: (e: AuditEvent) => boolean,
  ) {}

  async deliver(batch: readonly AuditEvent[]): Promise<void> {
    if (this.handle === null) {
      await mkdir(dirname(this.path), { recursive: true });
      this.handle = await open(this.path, 'a', 0o640);
    }
    let text = '';
    for (const e of batch) text += `${JSON.stringify(e)}\n`;
    try {
      await this.handle.write(text);
      await this.handle.datasync();
    } catch (err) {
      await this.handle.close().catch(() => {});
      this.handle = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
  }
}
