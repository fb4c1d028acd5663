/**
 * `@rtkd/softpool/layers`: SoftPool as a tfjs-layers layer, registered for model serialization.
 * Importing this entry point registers the class.
 */
export { SoftPooling2D, type SoftPooling2DLayerArgs } from './softpooling2d.js';
