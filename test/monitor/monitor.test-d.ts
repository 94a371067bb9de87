import * as tf from '@tensorflow/tfjs';
import {
  type ActivationProbe,
  GradientHealthMonitor,
  type GradientTransform,
  type HealthReport,
  type MonitorEvent,
  probeActivations,
  type StepRecord,
} from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

type FitCallbacks = NonNullable<tf.ModelFitArgs['callbacks']>;

describe('monitor types', () => {
  it('the callback is a tfjs Callback that fit takes, alone or in an array', () => {
    const monitor = new GradientHealthMonitor();
    expectTypeOf(monitor.callback()).toExtend<tf.Callback>();
    expectTypeOf(monitor.callback({ stopOnNonFinite: true })).toExtend<FitCallbacks>();
    expectTypeOf([tf.callbacks.earlyStopping(), monitor.callback()]).toExtend<FitCallbacks>();
    expectTypeOf([monitor.callback(), new tf.CustomCallback({ onEpochEnd: async () => {} })]).toExtend<FitCallbacks>();
  });

  it('the tap is a transform; results are typed', async () => {
    const monitor = new GradientHealthMonitor();
    expectTypeOf(monitor.tap).toEqualTypeOf<GradientTransform>();
    expectTypeOf(monitor.on).parameter(1).toEqualTypeOf<(event: MonitorEvent) => void>();
    expectTypeOf(monitor.history).toEqualTypeOf<readonly StepRecord[]>();
    expectTypeOf(monitor.report()).toEqualTypeOf<HealthReport>();
    expectTypeOf(probeActivations(tf.sequential(), tf.ones([1, 2]))).toEqualTypeOf<Promise<ActivationProbe>>();
    // @ts-expect-error event names are a closed set
    monitor.on('exploded', () => {});
  });
});
