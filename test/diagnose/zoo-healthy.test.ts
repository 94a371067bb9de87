import { ZOO } from '../helpers/zoo.js';
import { zooSuite } from './zoo-suite.js';

zooSuite(
  'the diagnosis zoo: healthy and convolutional networks',
  ZOO.filter((c) => c.expected.length === 0 || c.cpuOnly),
);
