/**
 * Registers the built-in datasets (CIFAR-10, CIFAR-100, SVHN, CINIC-10, digits). Imported once by
 * the package entry point; users add their own with `registerDataset`.
 */
import { cifar10Spec } from './cifar10.js';
import { cifar100Spec } from './cifar100.js';
import { cinic10Spec } from './cinic10.js';
import { digitsSpec } from './digits.js';
import { registerBuiltinDataset } from './registry.js';
import { svhnSpec } from './svhn.js';

for (const spec of [cifar10Spec, cifar100Spec, svhnSpec, cinic10Spec, digitsSpec]) registerBuiltinDataset(spec);
