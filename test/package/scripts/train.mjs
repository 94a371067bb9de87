import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import * as gs from 'gradstab';

const { train } = createRequire(import.meta.url)('./train-body.cjs');
console.log(JSON.stringify(await train(tf, gs)));
