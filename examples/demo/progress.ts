/** Where progress goes: a terminal gets one line redrawn in place, a pipe or a log gets plain lines. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const BAR = 24;

/**
 * Progress of one configuration's training: on a TTY a bar, the step and the loss, redrawn at most every 100 ms;
 * elsewhere a line at each quarter, so CI logs stay readable.
 */
export class Progress {
  private total = 0;
  private label = '';
  private lastDraw = 0;
  private nextQuarter = 1;

  constructor(private readonly sink: ProgressSink = process.stdout) {}

  /** A new configuration: `label` (e.g. `[2/6] ReLU, He init`) over `total` steps. */
  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.lastDraw = 0;
    this.nextQuarter = 1;
  }

  /** Step `step` (from 1) finished with training loss `loss`. */
  step(step: number, loss: number): void {
    const text = `${this.label}  step ${step}/${this.total}  loss ${formatLoss(loss)}`;
    if (this.sink.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && step < this.total) return;
      this.lastDraw = now;
      const filled = Math.round((BAR * Math.min(step, this.total)) / this.total);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${text}`;
      this.sink.write(`\r${line.slice(0, (this.sink.columns ?? 120) - 1)}\x1b[K`);
    } else if (step >= (this.nextQuarter * this.total) / 4) {
      while (step >= (this.nextQuarter * this.total) / 4) this.nextQuarter++;
      this.sink.write(`${text}\n`);
    }
  }

  /** The configuration is done: its one-line result replaces the bar. */
  done(line: string): void {
    this.sink.write(this.sink.isTTY ? `\r\x1b[K${this.label}  ${line}\n` : `${this.label}  ${line}\n`);
  }
}

/** A loss as the progress line and the table show it: 3 significant digits, NaN as NaN. */
export function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toPrecision(3) : String(loss);
}
