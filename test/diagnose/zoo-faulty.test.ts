import { ZOO } from '../helpers/zoo.js';
import { zooSuite } from './zoo-suite.js';

// The faulty networks without convolutions (the conv nets and the healthy ones run in a file of their own, so that
// vitest spreads the zoo over the workers).
zooSuite(
  'the diagnosis zoo: faulty networks',
  ZOO.filter((c) => c.expected.length > 0 && !c.cpuOnly),
);
