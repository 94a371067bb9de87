const tf = require('@tensorflow/tfjs');
const gs = require('gradstab');

require('./train-body.cjs')
  .train(tf, gs)
  .then((result) => console.log(JSON.stringify(result)));
