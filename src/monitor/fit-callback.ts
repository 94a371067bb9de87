import { Callback, type Logs } from '@tensorflow/tfjs-layers';
import { GradStabError } from '../errors.js';
import type { MonitorEvent, StepRecord } from './types.js';

/** What the callback needs of its monitor. */
export interface CallbackHost {
  readonly steps: number;
  readonly history: readonly StepRecord[];
  flush(): Promise<void>;
  on(name: 'nonFinite', handler: (event: MonitorEvent) => void): unknown;
  off(name: 'nonFinite', handler: (event: MonitorEvent) => void): unknown;
}

type Hook = (...args: never[]) => Promise<void>;

/**
 * What {@link GradientHealthMonitor.callback} returns: a tfjs `Callback` (what `tf.callbacks.earlyStopping()` is).
 *
 * tfjs reads a `callbacks` array by its first item: when that is a callback object, every item must be one
 * (`tf.callbacks.earlyStopping()`, `new tf.CustomCallback({...})`, this); when it is a plain object of hooks, tfjs
 * wraps every item in a `CustomCallback`. Only callback objects are handed the model, which `stopOnNonFinite` needs
 * to stop training. So this works alone, with other callback objects in any order, and also after plain objects
 * (then without `stopOnNonFinite`, which then says so when `fit` starts). Its hooks keep their state in a closure,
 * so they run the same when tfjs calls them on a wrapper.
 */
class MonitorCallback extends Callback {
  constructor(monitor: CallbackHost, stopOnNonFinite: boolean) {
    super();
    let epochStart = 0;
    let stopHandler: ((event: MonitorEvent) => void) | undefined;
    // True while tfjs drives this object itself (it called setParams here): only then are per-batch hooks needed.
    let drivenDirectly = false;
    const self = this as { model?: Callback['model'] };
    const detach = () => {
      if (stopHandler) monitor.off('nonFinite', stopHandler);
      stopHandler = undefined;
    };
    const noop = async () => {};

    const hooks: Record<string, Hook> = {
      onTrainBegin: async () => {
        detach();
        const model = self.model;
        if (!stopOnNonFinite) return;
        if (!model) {
          throw new GradStabError(
            'GradientHealthMonitor.callback: stopOnNonFinite needs the model, which tfjs hands only to callback ' +
              'objects in an array whose first item is one, got monitor.callback() after a plain callback object. ' +
              'Put monitor.callback() first and pass plain objects as new tf.CustomCallback({ ... }).',
          );
        }
        // tfjs gives every fit a new History before onTrainBegin: it tells this run from a later one, should this
        // run end in an error without reaching onTrainEnd.
        const run = model.history;
        stopHandler = () => {
          if (model.history === run) model.stopTraining = true;
          else detach();
        };
        monitor.on('nonFinite', stopHandler);
      },
      onTrainEnd: async () => {
        try {
          await monitor.flush();
        } finally {
          detach();
          drivenDirectly = false;
          self.model = undefined;
        }
      },
      onEpochBegin: async () => {
        epochStart = monitor.steps;
      },
      onEpochEnd: async (_epoch: number, logs?: Logs) => {
        await monitor.flush();
        if (!logs) return;
        let last: number | undefined;
        let max = Number.NEGATIVE_INFINITY;
        let nonFiniteSteps = 0;
        for (const record of monitor.history) {
          if (record.step <= epochStart) continue;
          last = record.globalNorm;
          max = Math.max(max, record.globalNorm); // a NaN step makes the epoch's max NaN
          if (record.layers.some((l) => l.nonFinite > 0)) nonFiniteSteps++;
        }
        if (last === undefined) return;
        logs.gradNorm = last;
        logs.gradNormMax = max;
        logs.nonFiniteSteps = nonFiniteSteps;
      },
    };
    for (const [name, hook] of Object.entries(hooks)) Object.defineProperty(this, name, { value: hook });
    // A CustomCallback wrapping this object reads the per-batch hooks once, at wrapping, before anything gets
    // setParams: report none then, so that the wrapper does not read every batch's loss back (a pipeline stall on
    // webgl). tfjs calls them on this object directly only after setParams.
    for (const name of ['onBatchBegin', 'onBatchEnd']) {
      Object.defineProperty(this, name, { get: () => (drivenDirectly ? noop : undefined) });
    }
    const setParams = this.setParams.bind(this);
    Object.defineProperty(this, 'setParams', {
      value: (params: Parameters<Callback['setParams']>[0]) => {
        drivenDirectly = true;
        setParams(params);
      },
    });
  }
}

/** Builds a monitor's `fit` callback (see {@link GradientHealthMonitor.callback}). */
export function monitorCallback(monitor: CallbackHost, stopOnNonFinite: boolean): Callback {
  return new MonitorCallback(monitor, stopOnNonFinite);
}
