/**
 * gatehouse sessions watch ID: follows a live session in this terminal, read-only — the current
 * screen first, then output as the target prints it (redacted like the recording, and stripped of
 * escape sequences that act on this terminal: recording/sanitize.ts). Ends when the session ends
 * (exit 0, the reason on stderr) or on Ctrl-C. This terminal is not resized to the session's size;
 * a size mismatch is reported once.
 */
import * as grpc from '@grpc/grpc-js';
import { GatehouseError } from '../../domain/errors.js';
import { TERMINAL_RESET, TerminalSanitizer } from '../../recording/sanitize.js';
import { clientOpts } from '../args.js';
import { connect, fromGrpcError } from '../client.js';

interface Frame {
  snapshot?: { screen: string; cols: number; rows: number };
  output?: Buffer;
  resize?: { cols: number; rows: number };
  end?: string;
  frame?: string;
}

export async function watchSession(values: Record<string, unknown>, id: string): Promise<number> {
  const api = connect(clientOpts(values));
  const out = process.stdout;
  const tty = out.isTTY === true;
  const clean = new TerminalSanitizer();
  let warned = false;
  const sizeNote = (cols: number, rows: number): void => {
    if (!tty || warned || (out.columns === cols && out.rows === rows)) return;
    warned = true;
    process.stderr.write(`gatehouse: the session's terminal is ${cols}x${rows}, this one ${out.columns}x${out.rows}; lines may wrap differently\n`);
  };
  try {
    return await new Promise<number>((resolve, reject) => {
      const fn = (api.raw as unknown as Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<Frame>>).watchSession;
      if (fn === undefined) return reject(new GatehouseError('GH_ERR_INTERNAL', 'no RPC watchSession'));
      const call = fn.call(api.raw, { id }, api.metadata);
      let ended: string | null = null;
      const sigint = (): void => {
        call.cancel();
        resolve(130);
      };
      process.once('SIGINT', sigint);
      const done = (code: number): void => {
        process.off('SIGINT', sigint);
        resolve(code);
      };
      call.on('data', (f: Frame) => {
        if (f.snapshot) {
          sizeNote(f.snapshot.cols, f.snapshot.rows);
          out.write(`${tty ? '\x1b[H\x1b[2J' : ''}${clean.push(f.snapshot.screen)}`);
        } else if (f.output) out.write(clean.push(f.output.toString('utf8')));
        else if (f.resize) sizeNote(f.resize.cols, f.resize.rows);
        else if (typeof f.end === 'string') ended = f.end;
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code === grpc.status.CANCELLED) return done(130);
        process.off('SIGINT', sigint);
        reject(fromGrpcError(err, 'the broker'));
      });
      // Finished only when the stream has ended *and* the broker said OK (an error also ends it).
      let status: grpc.StatusObject | null = null;
      let drained = false;
      const finish = (): void => {
        if (status === null || !drained || status.code !== grpc.status.OK) return;
        out.write(clean.end());
        if (tty) out.write(TERMINAL_RESET);
        process.stderr.write(`\ngatehouse: session ${id} ended${ended ? `: ${ended}` : ''}\n`);
        done(0);
      };
      call.on('status', (s: grpc.StatusObject) => {
        status = s;
        finish();
      });
      call.on('end', () => {
        drained = true;
        finish();
      });
    });
  } finally {
    api.close();
  }
}
