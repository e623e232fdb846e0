export { readLayers, LayerReadError, DEFAULT_READ_LIMITS } from './layer-reader.js';
export type { LayerInput, ReadLimits, ReadResult, Selection } from './layer-reader.js';
export { MAX_SYMLINK_HOPS } from './image-tree.js';
export { MAX_ZSTD_WINDOW } from './zstd-stream.js';
export { layerCompression } from './layer-stream.js';
