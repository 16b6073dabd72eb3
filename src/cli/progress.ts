// The progress line on a terminal: files, bytes, rate, ETA, redrawn at most 5 times a second on
// stderr. Cron runs (no terminal) and --quiet get none of it.
import { formatBytes } from './format.js';

export class ProgressLine {
  private last = 0;
  private readonly started = Date.now();
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly expectedBytes: number,
  ) {}

  update(files: number, bytes: number): void {
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const rate = bytes / secs;
    let eta = '';
    if (this.expectedBytes > bytes && rate > 0) {
      const left = Math.round((this.expectedBytes - bytes) / rate);
      eta = `  ETA ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    }
    this.stream.write(`\r\x1b[K  ${files} files  ${formatBytes(bytes)}  ${formatBytes(rate)}/s${eta}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
  }
}
