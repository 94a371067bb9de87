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
  private lastStage = '';

  constructor(private readonly sink: ProgressSink = process.stdout) {}

  /** A new configuration: `label` (e.g. `[2/6] ReLU, He init`) over `total` steps. */
  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.lastDraw = 0;
    this.nextQuarter = 1;
    this.lastStage = '';
  }

  /** Step `step` (from 1) finished with training loss `loss`. */
  step(step: number, loss: number): void {
    const text = `${this.label}  step ${step}/${this.total}  loss ${formatLoss(loss)}`;
    if (this.sink.isTTY) this.draw(step / this.total, text, step >= this.total);
    else if (step >= (this.nextQuarter * this.total) / 4) {
      while (step >= (this.nextQuarter * this.total) / 4) this.nextQuarter++;
      this.sink.write(`${text}\n`);
    }
  }

  /**
   * A task of stages with steps of their own (a diagnosis: a baseline trial, a range test, a trial per candidate):
   * step `step` of `steps` of the stage `stage` is done, and `fraction` of the whole. On a TTY the bar shows the
   * fraction; elsewhere a line when a stage starts.
   */
  stage(fraction: number, stage: string, step: number, steps: number): void {
    if (this.sink.isTTY) {
      this.draw(fraction, `${this.label}  ${stage}  step ${step}/${steps}`, fraction >= 1);
    } else if (stage !== this.lastStage) {
      this.lastStage = stage;
      this.sink.write(`${this.label}  ${Math.floor(100 * fraction)}%  ${stage}, ${steps} steps\n`);
    }
  }

  /** Redraws the bar (`share` of it filled) and `text`, at most every 100 ms unless `last`. */
  private draw(share: number, text: string, last: boolean): void {
    const now = Date.now();
    if (now - this.lastDraw < 100 && !last) return;
    this.lastDraw = now;
    const filled = Math.round(BAR * Math.min(1, Math.max(0, share)));
    const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${text}`;
    this.sink.write(`\r${line.slice(0, (this.sink.columns ?? 120) - 1)}\x1b[K`);
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
