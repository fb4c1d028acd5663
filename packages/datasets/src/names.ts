/** Names of the built-in datasets, as registered in the dataset registry. */

/** CIFAR-10, binary version. */
export const CIFAR10 = 'cifar10';
/** CIFAR-100, binary version. */
export const CIFAR100 = 'cifar100';
/** SVHN cropped digits (Format 2, 32×32 `.mat`). */
export const SVHN = 'svhn';
/** CINIC-10 (PNG tree). */
export const CINIC10 = 'cinic10';
/** Embedded MNIST digits, 32×32×3, no download. */
export const DIGITS = 'digits';
