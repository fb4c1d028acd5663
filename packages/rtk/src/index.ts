/**
 * The Representative Teacher Key (RTK) on top of AFD: top-k selection of the representative
 * (teacher, student) pairs in AFD's attention, SoftPool resizing, and the `afd-rtk` loss.
 */
export { AFD_RTK, afdRtk, rtkSelector, RTK_MASSES, type RtkMass, type RtkSelectorOptions, type AfdRtkOptions, type RepresentativeAttention, type RtkLoss } from './afd-rtk.js';
export { registerRtk } from './register.js';
export { resolveK, scheduledK, type KSpec } from './k.js';
export { topkMask, maskedSoftmax } from './mask.js';
export { RTK_VARIANTS, selectRepresentatives, candidateCounts, checkK, type RtkVariant, type RtkSelection } from './variants.js';
export { rtkPooling, softPoolResize, softPoolDescribe, normalisedSoftPool2d, RTK_POOLS, type RtkPool } from './pooling.js';
