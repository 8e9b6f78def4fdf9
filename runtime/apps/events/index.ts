// RSI events from the tracks and the lane map, and the event/sign type code table. See README.md.
export * from './codes.js';
export * from './detector.js';
