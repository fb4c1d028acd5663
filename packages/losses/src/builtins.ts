// The one module that registers the built-in losses (imported once by index.ts). A second copy of
// @rtkd/losses in the process finds them in the shared registry already and leaves them.
import { activationBoundary } from './ab.js';
import { afd } from './afd.js';
import { attentionTransfer } from './at.js';
import { correlationCongruence } from './cc.js';
import { contrastiveRepresentation } from './crd.js';
import { fitNet } from './fitnet.js';
import { flowOfSolutionProcedure } from './fsp.js';
import { factorTransfer } from './ft.js';
import { knowledgeDistillation } from './kd.js';
import { neuronSelectivityTransfer } from './nst.js';
import { probabilisticKnowledgeTransfer } from './pkt.js';
import { registerBuiltinLoss } from './registry.js';
import { relationalKnowledgeDistillation } from './rkd.js';
import { similarityPreserving } from './sp.js';
import { variationalInformationDistillation } from './vid.js';

registerBuiltinLoss(knowledgeDistillation);
registerBuiltinLoss(fitNet);
registerBuiltinLoss(attentionTransfer);
registerBuiltinLoss(similarityPreserving);
registerBuiltinLoss(correlationCongruence);
registerBuiltinLoss(variationalInformationDistillation);
registerBuiltinLoss(relationalKnowledgeDistillation);
registerBuiltinLoss(probabilisticKnowledgeTransfer);
registerBuiltinLoss(activationBoundary);
registerBuiltinLoss(factorTransfer);
registerBuiltinLoss(flowOfSolutionProcedure);
registerBuiltinLoss(neuronSelectivityTransfer);
registerBuiltinLoss(contrastiveRepresentation);
registerBuiltinLoss(afd);
