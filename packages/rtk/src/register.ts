import { hasLoss, registerLoss } from '@rtkd/losses';
import { AFD_RTK, afdRtk } from './afd-rtk.js';

/**
 * Adds `afd-rtk` to the @rtkd/losses registry. Importing `@rtkd/rtk` already does it; the call is
 * idempotent (a second call does nothing) and is kept for code that unregisters and re-registers.
 */
export function registerRtk(): void {
  if (!hasLoss(AFD_RTK)) registerLoss(afdRtk);
}

registerRtk();
