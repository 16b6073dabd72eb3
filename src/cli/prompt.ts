// Line prompts on stdin for the interactive restore. EOF and Ctrl-C are answers too: both abort
// with nothing changed (the caller decides the exit code).
import readline from 'node:readline';
import { SnapError } from '../model/errors.js';

export class Prompter {
  private readonly rl: readline.Interface;
  private readonly lines: AsyncIterator<string>;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {
    this.rl = readline.createInterface({ input, terminal: false });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  async ask(question: string): Promise<string> {
    this.output.write(question);
    const next = await this.lines.next();
    if (next.done) {
      this.output.write('\n');
      throw new SnapError('ABORTED', 'no answer (end of input): nothing was changed');
    }
    return next.value.replace(/\r$/, '');
  }

  close(): void {
    this.rl.close();
  }
}
