// tfjs-core's Node bundle registers no gradient functions; tfjs-layers' Node bundle registers all of
// tfjs-core's on import. Importing it here makes `tf.grads` work wherever @rtkd/core is imported.
import '@tensorflow/tfjs-layers';
