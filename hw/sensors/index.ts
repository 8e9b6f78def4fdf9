// Sensor ingest: detection object lists from lidars, cameras and radars (see codecs/proto/detections.proto).

export * from './frame.js';
export { SensorIngest, ingestOptionsFromConfig, type BoundListener, type FrameListener, type IngestOptions, type IngestStats, type ListenerStats } from './ingest.js';
export { FrameProcessor, checkObject, FRAME_DROP_REASONS, OBJECT_DROP_REASONS, LIMITS, type FrameDropReason, type FrameSource, type ObjectDropReason, type SensorStats, type Verdict } from './process.js';
export { DetectionSender, encodeFor, type SenderOptions } from './sender.js';
export { decodeProtobuf, parseJsonFrame, encodeFrame, encodeFrameDelimited, encodeFrameJson, DelimitedReader, FramingError, JsonFrameError, JsonFieldError, detectionsProtoPath, type WireFrame, type WireObject } from './wire.js';
export { LineReader } from './lines.js';
export { RateLimitedLogger, type RateLimitOptions } from './ratelog.js';
