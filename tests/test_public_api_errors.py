"""Every public name of ``mmcourse`` refuses bad input at its door (issue 15, item 3).

The walk itself is in ``api_walk.py``: for every callable in every ``__all__`` it finds a valid call (from the
docstring examples) and calls it again with one argument spoiled at a time (NaN, wrong rank, zero rows, wrong type,
mismatched batch sizes, out-of-range integers). This file holds the tests and the two tables a reader must be able
to check by eye:

* :data:`ACCEPTED`: the spoilings that are valid input for a particular name, each with its reason;
* :data:`UNCOVERED`: the public names that the walk cannot call, each with its reason.

A new public name is covered without editing this file: it needs a docstring example (the scikit-learn habit), and
:func:`test_every_public_name_has_a_valid_call` fails until it has one.

To see the failures of part of the package: ``python tests/test_public_api_errors.py --only mmcourse.reasoning``
(stdout lists them by name and argument, stderr says what each one did).
"""
from __future__ import annotations

import inspect
import os
import sys
import time

import pytest
import torch

import api_walk as walk
from api_walk import Call, problems, public_names, valid_calls

# (call name, argument, kind) -> why the spoiled value is valid input for that name.
ACCEPTED: dict[tuple[str, str, str], str] = {
    **{("mmcourse.representation.heterogeneous.search.ComposedFusionModel", f"samples[{m}]", kind):
       "samples are single examples that give each modality's shape: not a batch, and their values are not used"
       for m in range(2) for kind in ("mismatched batch", "NaN")},
    **{("mmcourse.representation.heterogeneous.sharing.GroupedEncoderModel", f"samples[{m}]", kind):
       "samples are single examples that give each modality's shape: not a batch, and their values are not used"
       for m in range(4) for kind in ("mismatched batch", "NaN")},
    ("mmcourse.exercises._check.as_float64", "output", "wrong type"):
        "output is a reader's answer: a value that is not a number or an array gives None, which the checker turns "
        "into a hint",
    **{("mmcourse.exercises._check.compare", f"output[{i}]", kind):
       "output is a reader's answer: whatever it holds, compare returns a hint (here: return a tensor), never raises"
       for i in range(2) for kind in ("wrong type", "NaN")},
}

# (name prefix, kind) -> why every name under the prefix accepts that spoiling.
ACCEPTED_BY_PREFIX: dict[tuple[str, str], str] = {
    ("mmcourse.exercises.", "not callable"):
        "a checker reports a reader's mistake, it never raises: given a value that is not a function it returns a "
        "FAIL result that says so (tested for every checker in test_exercises.py::test_not_a_function)",
}

# public name -> why the walk cannot call it.
UNCOVERED: dict[str, str] = {
}

KNOWN_GAPS: dict[str, tuple[str, ...]] = {
# BEGIN KNOWN_GAPS
    'alignment.adversarial.AdversarialMapping.forward': (
        'x: rank 0',
        'x: NaN',
    ),
    'alignment.adversarial.fit_adversarial_mapping': (
        'x: mismatched batch',
        'y: mismatched batch',
    ),
    'alignment.contextual_models.AttentionLayer.forward': (
        'h: wrong type',
        'h: rank 0',
        'context: wrong type',
        'context: rank 0',
    ),
    'alignment.learned_matching.fit_transport_matching': (
        'regions: rank 0',
        'phrases: rank 0',
    ),
    'alignment.learned_matching.rival_margin': (
        'v: NaN',
        'w: NaN',
    ),
    'alignment.matching.WordRegionModel.forward': (
        'regions: empty',
        'regions: mismatched batch',
        'phrases: mismatched batch',
    ),
    'alignment.matching.fit_word_region': (
        'regions: rank 0',
        'phrases: rank 0',
    ),
    'alignment.matching.scene_similarity': (
        'v: NaN',
        'w: NaN',
    ),
    'alignment.matching.word_region_loss': (
        'v: NaN',
        'w: NaN',
    ),
    'alignment.matching_assign.evaluate_matching': (
        'model: wrong type',
        'regions: wrong type',
        'regions: empty',
        'phrases: wrong type',
        'phrases: empty',
        'mask: wrong type',
        'seed: wrong type',
        'seed: float for int',
        'regions: mismatched batch',
        'phrases: mismatched batch',
    ),
    'alignment.matching_assign.match': (
        'reg: wrong type',
        'reg: NaN',
    ),
    'alignment.matching_assign.matching_accuracy': (
        'assignment[0]: wrong type',
        'assignment[1]: wrong type',
        'assignment[2]: wrong type',
        'truth[0]: wrong type',
        'truth[1]: wrong type',
        'truth[2]: wrong type',
    ),
    'alignment.segmentation_ctc.CTCFrameModel.forward': (
        'x: NaN',
    ),
    'alignment.segmentation_decoding.ctc_greedy_decode': (
        'log_probs: NaN',
    ),
    'data.gridworld.distance_maps': (
        'blocked: wrong type',
        'target: rank + 1',
        'target: rank 0',
        'target: integer too large',
    ),
    'data.scenes.crop_regions': (
        'images: NaN',
    ),
    'encoders.TransformerTextEncoder.forward': (
        'tokens: empty',
    ),
    'foundations.text.WordGRUEncoder': (
        'padding_idx: wrong type',
        'padding_idx: float for int',
    ),
    'foundations.text.WordGRUEncoder.forward': (
        'tokens: empty',
    ),
    'generation.creation.objectives.mvae_loss': (
        'beta: NaN',
    ),
    'generation.creation.objectives.stratified_iwae_bound': (
        'log_w: empty',
    ),
    'generation.evaluation.diversity.memorisation_ratio': (
        'generated: mismatched batch',
        'heldout: mismatched batch',
    ),
    'generation.evaluation.diversity.nearest_distance': (
        'samples: mismatched batch',
        'reference: mismatched batch',
    ),
    'generation.summarization.abstractive.AbstractiveSummarizer.forward': (
        'image_units: wrong type',
        'image_units: rank 0',
        'image_units: NaN',
        'captions: wrong type',
        'captions: negative integer',
        'captions: integer too large',
        'target: wrong type',
        'target: negative integer',
        'target: integer too large',
    ),
    'generation.translation.captions.phrase_scores': (
        'predicted: mismatched batch',
        'reference: mismatched batch',
    ),
    'generation.translation.captions.scene_coherence': (
        'images: NaN',
    ),
    'generation.translation.decoders.CrossDecoder.forward': (
        'x: NaN',
    ),
    'generation.translation.decoders.ImageToCaption.forward': (
        'images: empty',
        'images: NaN',
        'captions: empty',
        'captions: negative integer',
        'captions: integer too large',
        'images: mismatched batch',
        'captions: mismatched batch',
    ),
    'generation.translation.exemplar.nearest_neighbours': (
        'similarity: NaN',
    ),
    'generation.translation.exemplar.retrieve_translation': (
        'train_source: NaN',
    ),
    'generation.translation.exemplar.round_trip': (
        'source: wrong type',
        'source: NaN',
    ),
    'generation.translation.fitting.fit_translator': (
        'source: rank 0',
        'source: NaN',
        'target: rank 0',
        'target: NaN',
    ),
    'generation.translation.measures.within_class_spread': (
        'samples: NaN',
    ),
    'quantification.heterogeneity.information.modality_information': (
        'val[0][0]: rank 0',
        'val[0][1]: rank 0',
        'test[0][0]: rank 0',
        'test[0][1]: rank 0',
    ),
    'quantification.heterogeneity.information.train_unimodal': (
        'train[0][0]: rank 0',
        'train[0][1]: rank 0',
    ),
    'quantification.heterogeneity.noise.modality_importance': (
        'test[0][0]: rank 0',
        'test[0][1]: rank 0',
    ),
    'quantification.heterogeneity.noise.noise_sensitivity': (
        'test[0][0]: rank 0',
    ),
    'quantification.heterogeneity.transfer.transfer_distance': (
        'train[0][0]: rank 0',
        'train[0][1]: rank 0',
        'test[0][0]: rank 0',
        'test[0][1]: rank 0',
    ),
    'quantification.learning.curves.modality_learning_curves': (
        'momentum: wrong type',
        'momentum: NaN',
        'weight_decay: wrong type',
        'weight_decay: NaN',
    ),
    'quantification.learning.tradeoffs.measure_complexity': (
        'data[1]: integer too large',
        'lr: wrong type',
        'lr: NaN',
    ),
    'reasoning.concepts.attention.SceneAttentionQA.forward': (
        'images: rank 0',
        'images: NaN',
        'questions: rank 0',
    ),
    'reasoning.concepts.attention.StackedAttention.forward': (
        'v: NaN',
        'u: NaN',
    ),
    'reasoning.concepts.language.SceneDescriber.forward': (
        'tiles: NaN',
    ),
    'reasoning.concepts.symbolic.SceneParser.forward': (
        'tiles: NaN',
    ),
    'reasoning.inference.causal.RUBi': (
        'question_weight: NaN',
    ),
    'reasoning.inference.causal.rubi_logits': (
        'logits: wrong type',
        'logits: NaN',
        'question_logits: wrong type',
        'question_logits: NaN',
    ),
    'reasoning.inference.causal.total_indirect_effect': (
        'z_k: wrong type',
        'z_k: NaN',
        'z_q: wrong type',
        'z_q: NaN',
        'z_v: wrong type',
        'z_v: NaN',
        'c: NaN',
    ),
    'reasoning.inference.logic.consistency_rate': (
        'p1: empty',
        'p2: empty',
        'threshold: NaN',
        'p_composed: mismatched batch',
        'p1: mismatched batch',
        'p2: mismatched batch',
    ),
    'reasoning.inference.logic.logic_loss': (
        'p_composed: empty',
        'p1: empty',
        'p2: empty',
    ),
    'reasoning.inference.vqa.fit_vqa': (
        "data['image']: rank 0",
        "data['question']: rank 0",
        "data['answer']: rank 0",
        "data['answer']: negative integer",
        "data['answer']: integer too large",
    ),
    'reasoning.knowledge.evaluation.retrieval_recall': (
        'scores[0][0]: NaN',
        'scores[0][1]: NaN',
        'scores[1][0]: NaN',
        'scores[1][1]: NaN',
        'scores[2][0]: NaN',
        'scores[2][1]: NaN',
    ),
    'reasoning.knowledge.memory.KeyValueMemory.forward': (
        'query: NaN',
    ),
    'reasoning.knowledge.memory.retrieve': (
        'query: NaN',
        'keys: NaN',
        'values: NaN',
    ),
    'reasoning.knowledge.perception.ScenePerception.forward': (
        'crops: NaN',
    ),
    'reasoning.knowledge.retrieval.ClosedBookReasoner.forward': (
        'presence: rank 0',
        'presence: NaN',
        'attributes: NaN',
    ),
    'reasoning.knowledge.retrieval.RetrievalReasoner.forward': (
        'presence: rank 0',
        'presence: NaN',
        'attributes: NaN',
    ),
    'reasoning.knowledge.retrieval.poisson_binomial': (
        'a: NaN',
    ),
    'reasoning.structure.discovery.search_temporal_structure': (
        'train[0]: wrong type',
        'train[0][0]: wrong type',
        'train[0][0]: rank 0',
        'train[0][1]: wrong type',
        'train[0][1]: rank 0',
        'train[1]: wrong type',
        'train[1]: empty',
    ),
    'reasoning.structure.film.FiLMModel.forward': (
        'questions: negative integer',
        'questions: integer too large',
    ),
    'reasoning.structure.film.apply_film': (
        'features: NaN',
        'gamma: NaN',
        'beta: NaN',
    ),
    'reasoning.structure.interactive.InstructionAgent.forward': (
        'grid: wrong type',
        'grid: NaN',
        'instruction: wrong type',
        'instruction: negative integer',
        'instruction: integer too large',
    ),
    'reasoning.structure.interactive.egocentric_view': (
        'features: wrong type',
        'features: NaN',
        'agent: wrong type',
        'agent: integer too large',
    ),
    'reasoning.structure.interactive.fit_imitation': (
        'grids: rank 0',
        'grids: NaN',
        'instructions: rank 0',
        'actions: rank 0',
        'lr: wrong type',
        'lr: NaN',
    ),
    'reasoning.structure.interactive_rl.discounted_returns': (
        'rewards: NaN',
    ),
    'reasoning.structure.interactive_rl.fit_reinforce': (
        'agent: wrong type',
        'lr: wrong type',
        'lr: NaN',
    ),
    'reasoning.structure.interactive_rl.reinforce_loss': (
        'log_probs: wrong type',
        'log_probs: NaN',
        'returns: wrong type',
        'returns: NaN',
        'mask: wrong type',
        'baseline: NaN',
    ),
    'reasoning.structure.interactive_rollout.random_policy': (
        'grid: wrong type',
        'grid: rank 0',
        'grid: NaN',
        'instruction: wrong type',
        'grid: mismatched batch',
        'instruction: mismatched batch',
    ),
    'reasoning.structure.modules_network.NeuralModuleNetwork.forward': (
        'images: rank 0',
    ),
    'representation.contrastive.clip.ContrastiveModel.forward': (
        'x1: mismatched batch',
        'x2: mismatched batch',
    ),
    'representation.contrastive.clip.fit_contrastive': (
        'pairs[0]: rank 0',
        'pairs[1]: rank 0',
        'weight_decay: wrong type',
        'weight_decay: NaN',
    ),
    'representation.contrastive.clip.similarity_matrix': (
        'z1: mismatched batch',
        'z2: mismatched batch',
    ),
    'representation.coordination.deep_cca.DeepCCA': (
        'reg: wrong type',
        'reg: NaN',
    ),
    'representation.coordination.deep_cca.DeepCCA.forward': (
        'x: NaN',
        'y: NaN',
        'x: mismatched batch',
        'y: mismatched batch',
    ),
    'representation.coordination.order.OrderEmbedding.forward': (
        'x: NaN',
        'y: NaN',
    ),
    'representation.coordination.order.order_violations': (
        'threshold: NaN',
    ),
    'representation.fission._bounds.Critic.forward': (
        'a: NaN',
        'b: NaN',
    ),
    'representation.fission._bounds.conditional_info_nce': (
        'scores: NaN',
    ),
    'representation.fission._bounds.conditional_nce_club': (
        'scores: NaN',
    ),
    'representation.fission._bounds.info_nce': (
        'scores: NaN',
    ),
    'representation.fission._bounds.nce_club': (
        'scores: NaN',
    ),
    'representation.fission._estimate.fit_critic': (
        'a: rank 0',
        'a: NaN',
        'b: rank 0',
        'b: NaN',
        'test[0]: NaN',
        'test[1]: NaN',
    ),
    'representation.fission._mmd.gaussian_kl': (
        'mean: NaN',
        'logvar: NaN',
    ),
    'representation.fission._mmd.imq_kernel': (
        'a: NaN',
        'b: NaN',
    ),
    'representation.fission._mmd.mmd': (
        'x: NaN',
        'y: NaN',
        'x: mismatched batch',
        'y: mismatched batch',
    ),
    'representation.fission._subspace_measures.subspace_toy': (
        'noise: NaN',
        'seed: wrong type',
        'seed: float for int',
        'seed: negative integer',
    ),
    'representation.fission.clustering.cluster_purity': (
        'labels_true[0]: wrong type',
        'labels_true[1]: wrong type',
        'labels_true[2]: wrong type',
        'labels_true[3]: wrong type',
        'labels_true[4]: wrong type',
        'labels_true[5]: wrong type',
        'labels_pred[0]: wrong type',
        'labels_pred[1]: wrong type',
        'labels_pred[2]: wrong type',
        'labels_pred[3]: wrong type',
        'labels_pred[4]: wrong type',
        'labels_pred[5]: wrong type',
    ),
    'representation.fission.clustering.soft_assignment': (
        'z: mismatched batch',
        'centroids: mismatched batch',
    ),
    'representation.fission.deep_clustering.DeepMultimodalClustering.forward': (
        '*xs[0]: empty',
        '*xs[1]: empty',
    ),
    'representation.fission.factorcl.FactorCL.forward': (
        'x1: NaN',
        'x2: NaN',
    ),
    'representation.fission.factorcl.fit_factorcl': (
        'x1: NaN',
        'x2: NaN',
    ),
    'representation.fission.factorized.decorrelation_penalty': (
        'a: NaN',
        'b: NaN',
        'eps: NaN',
    ),
    'representation.fission.factorized.fit_factorized': (
        'train[1]: negative integer',
        'train[1]: integer too large',
    ),
    'representation.fission.mfm.fit_mfm': (
        'train[1]: negative integer',
        'train[1]: integer too large',
    ),
    'representation.fission.subspaces.fit_isa': (
        'seed: wrong type',
        'seed: float for int',
        'seed: negative integer',
    ),
    'representation.fission.subspaces.isa_objective': (
        'eps: NaN',
    ),
    'representation.fusion.pretrained.pretrain_encoders': (
        'inputs[0]: rank 0',
        'inputs[1]: rank 0',
    ),
    'representation.heterogeneous.mae.MultimodalMAE.forward': (
        '*xs[0]: empty',
        '*xs[0]: NaN',
        '*xs[1]: empty',
        '*xs[1]: NaN',
        '*xs[0]: mismatched batch',
        '*xs[1]: mismatched batch',
    ),
    'representation.heterogeneous.mae.linear_probe': (
        'seed: wrong type',
        'seed: float for int',
        'seed: negative integer',
    ),
    'representation.heterogeneous.mae.masked_mse': (
        'prediction: NaN',
        'target: NaN',
    ),
    'representation.heterogeneous.mae.patchify': (
        'x: NaN',
    ),
    'representation.heterogeneous.mae.pretrain_mae': (
        'model: wrong type',
        'xs[0]: empty',
        'xs[0]: NaN',
        'xs[1]: empty',
        'xs[1]: NaN',
        'lr: wrong type',
        'lr: NaN',
        'seed: wrong type',
        'seed: float for int',
        'xs[0]: mismatched batch',
        'xs[1]: mismatched batch',
    ),
    'representation.heterogeneous.search.search_fusion': (
        'train[0][0]: empty',
        'train[0][0]: rank 0',
        'train[0][1]: empty',
        'train[0][1]: rank 0',
        'train[1]: wrong type',
        'train[1]: empty',
    ),
    'representation.heterogeneous.sharing.transfer_heterogeneity': (
        'train[0]: wrong type',
        'train[0][0]: wrong type',
        'train[0][1]: wrong type',
        'train[0][1]: empty',
        'train[0][2]: wrong type',
        'train[0][2]: empty',
        'train[1]: wrong type',
        'train[1]: empty',
        'val[0]: wrong type',
        'val[0][0]: wrong type',
        'val[0][0]: empty',
        'val[0][1]: wrong type',
        'val[0][1]: empty',
        'val[0][2]: wrong type',
        'val[0][2]: empty',
        'val[1]: wrong type',
        'val[1]: empty',
        'val[1]: rank + 1',
        'val[1]: rank 0',
        'train[0][1]: mismatched batch',
        'train[0][2]: mismatched batch',
        'val[0][0]: mismatched batch',
        'val[0][1]: mismatched batch',
        'val[0][2]: mismatched batch',
        'val[1]: mismatched batch',
    ),
    'representation.model.FusionModel': (
        'samples[0]: NaN',
        'samples[1]: NaN',
        'rank: wrong type',
        'samples[0]: mismatched batch',
        'samples[1]: mismatched batch',
    ),
    'representation.optimization.branches.LogitSumModel.forward': (
        '*xs[0]: empty',
        '*xs[1]: empty',
        '*xs[0]: mismatched batch',
        '*xs[1]: mismatched batch',
    ),
    'representation.optimization.dropout.ModalityDropout.forward': (
        '*xs[0]: wrong type',
        '*xs[0]: rank 0',
        '*xs[0]: NaN',
        '*xs[1]: wrong type',
        '*xs[1]: rank 0',
        '*xs[1]: NaN',
    ),
    'representation.optimization.dropout.drop_modalities': (
        'xs: wrong type',
        'xs[0]: wrong type',
        'xs[0]: rank 0',
        'xs[0]: NaN',
        'xs[1]: wrong type',
        'xs[1]: rank 0',
        'xs[1]: NaN',
        'keep: wrong type',
    ),
    'representation.optimization.ogm.branch_scores': (
        'branch_logits: wrong type',
        'branch_logits[0]: wrong type',
        'branch_logits[0]: NaN',
        'branch_logits[1]: wrong type',
        'branch_logits[1]: NaN',
        'labels: negative integer',
        'labels: integer too large',
    ),
    'representation.optimization.ogm.modulate_gradients': (
        'branches[0]: wrong type',
        'branches[1]: wrong type',
    ),
    'representation.optimization.train.fit_balanced': (
        'train[1]: integer too large',
        'val[1]: integer too large',
        'momentum: wrong type',
        'momentum: NaN',
        'weight_decay: wrong type',
    ),
    'representation.optimization.train.head_losses': (
        'model: wrong type',
        'data[1]: integer too large',
    ),
    'representation.robustness.augmentation.AugmentedModel.forward': (
        '*xs[0]: wrong type',
        '*xs[0]: empty',
        '*xs[0]: NaN',
        '*xs[1]: wrong type',
        '*xs[1]: empty',
        '*xs[1]: NaN',
        '*xs[0]: mismatched batch',
        '*xs[1]: mismatched batch',
    ),
    'representation.robustness.augmentation.NoiseAugmentation': (
        'seed: wrong type',
        'seed: float for int',
    ),
    'representation.robustness.augmentation.NoiseAugmentation.forward': (
        '*xs[1]: wrong type',
        '*xs[1]: NaN',
        '*xs[0]: mismatched batch',
        '*xs[1]: mismatched batch',
    ),
    'representation.robustness.imputation.ModalityImputer.forward': (
        '*sources[0]: wrong type',
        '*sources[0]: empty',
        '*sources[0]: NaN',
    ),
    'representation.robustness.imputation.fit_imputer': (
        'imputer: wrong type',
        'sources: wrong type',
        'sources[0]: wrong type',
        'sources[0]: rank 0',
        'sources[0]: NaN',
        'target: wrong type',
        'target: rank 0',
        'target: NaN',
        'lr: wrong type',
        'lr: NaN',
        'weight_decay: wrong type',
        'weight_decay: NaN',
    ),
    'representation.robustness.imputation.impute': (
        'inputs: wrong type',
        'inputs[0]: wrong type',
        'inputs[0]: empty',
        'inputs[0]: NaN',
        'inputs[1]: wrong type',
        'inputs[1]: NaN',
        'imputer: wrong type',
        'inputs[0]: mismatched batch',
        'inputs[1]: mismatched batch',
    ),
    'representation.robustness.noise.salt_and_pepper': (
        'x: empty',
    ),
    'training.predict': (
        'inputs[0]: NaN',
    ),
    'transference.colearning.mctn.cycle_loss': (
        'target: NaN',
        'translation: NaN',
        'source: NaN',
        'back_translation: NaN',
    ),
    'transference.colearning.mctn.fill_missing': (
        'x: NaN',
        'reference: empty',
        'reference: NaN',
        'x: mismatched batch',
        'reference: mismatched batch',
    ),
    'transference.colearning.mctn.fit_mctn': (
        'source: rank 0',
        'target: rank 0',
        'labels: rank 0',
        'labels: integer too large',
        'lr: wrong type',
        'lr: NaN',
    ),
    'transference.colearning.representation.fit_colearning': (
        'primary: rank 0',
        'labels: rank 0',
        'labels: negative integer',
        'labels: integer too large',
        'secondary: rank 0',
    ),
    'transference.colearning.zeroshot.ZeroShotModel.forward': (
        'x: wrong type',
        'x: rank 0',
    ),
    'transference.colearning.zeroshot.fit_zero_shot': (
        'images: rank 0',
        'labels: rank 0',
        'lr: wrong type',
        'lr: NaN',
    ),
    'transference.colearning.zeroshot.zero_shot_predict': (
        'prototypes: empty',
    ),
    'transference.induction.coregularisation.co_regularisation_objective': (
        'weights1: NaN',
        'weights2: NaN',
    ),
    'transference.induction.cotraining.merge_picks': (
        'labels1[0]: wrong type',
        'labels1[1]: wrong type',
        'labels2[0]: wrong type',
        'labels2[2]: wrong type',
    ),
    'transference.induction.cotraining.most_confident': (
        'proba: NaN',
    ),
    'transference.induction.torch_classifier.TorchClassifier': (
        'seed: wrong type',
    ),
    'transference.induction.views.dependent_view': (
        'seed: wrong type',
        'seed: float for int',
        'seed: negative integer',
    ),
    'transference.induction.views.few_labels': (
        'seed: wrong type',
        'seed: float for int',
        'seed: negative integer',
    ),
    'transference.induction.views.pseudo_label_accuracy': (
        'history[0][0]: integer too large',
        'truth: empty',
    ),
    'transference.transfer.finetuning.TransferModel.forward': (
        'x: wrong type',
        'x: rank 0',
    ),
    'transference.transfer.finetuning.fine_tune': (
        'width: wrong type',
        'hidden: wrong type',
    ),
    'transference.transfer.finetuning.learning_curve': (
        'seed: float for int',
    ),
    'transference.transfer.finetuning.pretrain_encoder': (
        'lr: wrong type',
        'lr: NaN',
    ),
    'transference.transfer.multitask.fit_multitask': (
        'lr: wrong type',
        'lr: NaN',
    ),
    'transference.transfer.shift.ModalityShift.forward': (
        'z: wrong type',
        'z: NaN',
        'a: wrong type',
        'a: NaN',
    ),
    'transference.transfer.shift.ShiftClassifier.forward': (
        'a: wrong type',
        'a: NaN',
    ),
    'transference.transfer.shift.shift_scale': (
        'z: wrong type',
        'z: NaN',
        'h: wrong type',
        'h: NaN',
    ),
    'utils.trained_on': (
        'module: wrong type',
    ),
    'widgets.coordination_explorer.CoordinationExplorer': (
        'temperature: wrong type',
        'temperature: NaN',
        'width: wrong type',
        'dim: wrong type',
        'batch_size: wrong type',
        'lr: wrong type',
        'lr: NaN',
        'seed: wrong type',
    ),
    'widgets.generation_explorer.GenerationExplorer': (
        "data['image']: rank 0",
        "data['image']: NaN",
        "data['audio']: rank 0",
        "data['audio']: NaN",
        "data['label']: rank 0",
    ),
    'widgets.reasoning_explorer.step_map': (
        'value[0]: negative integer',
        "objects[0]['cell']: wrong type",
        "objects[1]['cell']: wrong type",
        "objects[1]['cell']: float for int",
    ),
# END KNOWN_GAPS
}


def accepted(key: tuple[str, str, str], known: bool = True) -> bool:
    """Whether a spoiling ``(name, argument, kind)`` is valid input (:data:`ACCEPTED`), or (with ``known``) a known
    gap."""
    name, where, kind = key
    return (key in ACCEPTED or any(name.startswith(p) and kind == k for p, k in ACCEPTED_BY_PREFIX)
            or known and f"{where}: {kind}" in KNOWN_GAPS.get(name.removeprefix("mmcourse."), ()))


def _needs_no_call(name: str) -> bool:
    """A result record (it holds results, checks nothing) or a function without arguments: nothing to spoil."""
    target = public_names()[name]
    if inspect.isclass(target):
        return walk._is_record(target)
    try:
        return not inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a function that writes a file given a spoiled name writes it here


@pytest.mark.parametrize("name", list(public_names()))
def test_bad_input_gets_a_clear_error(name):
    failures = [f"{key[0]}({key[1]}=<{key[2]}>): {what}"
                for call in valid_calls(name) for key, what in problems(call, accepted)]
    assert not failures, "\n".join(failures)


def test_every_public_name_has_a_valid_call():
    """A public name without a docstring example that calls it is not walked: give it one (or say why not)."""
    missing = [n for n in public_names() if not valid_calls(n) and not _needs_no_call(n) and n not in UNCOVERED]
    assert not missing, (f"{len(missing)} public names have no docstring example that calls them, so the walk "
                         f"cannot check their arguments: {missing}")
    stale = [n for n in UNCOVERED if n not in public_names() or valid_calls(n)]
    assert not stale, f"UNCOVERED lists names that are gone or have a valid call by now: {stale}"


def test_accepted_entries_name_real_spoilings():
    """Every entry of ACCEPTED names a spoiling that the walk makes today (no stale entries)."""
    made = {(call.name, s.where, s.kind) for name in {k[0].removesuffix(".forward") for k in ACCEPTED}
            for call in valid_calls(name) for s in walk.spoilings(call)}
    stale = [key for key in ACCEPTED if key not in made]
    assert not stale, f"ACCEPTED names spoilings the walk no longer makes: {stale}"


def test_every_module_is_walked():
    names = public_names()
    assert "mmcourse.training.fit" in names and "mmcourse.utils.get_device" in names
    assert not any(n.startswith(tuple(walk.NOT_COVERED)) for n in names)
    assert len(names) > 600


# ----------------------------------------------------------------------------------------------------------------
# The harness: it must catch what it is there to catch
# ----------------------------------------------------------------------------------------------------------------

def _in_package(f):
    """``f`` as if it were defined in the package (the walk only counts errors raised inside ``mmcourse``)."""
    f.__code__ = f.__code__.replace(co_filename=os.path.join(walk.PACKAGE_DIR, "checked.py"))
    return f


def test_the_spoilings_catch_an_unchecked_function():
    """A function that checks nothing fails on every kind of spoiling it can see."""
    def unchecked(x, y, k=2):
        return (x[:, :k] * 1.0).mean() + y.float().mean() * 0

    call = Call("unchecked", unchecked, [], {"x": torch.randn(4, 3), "y": torch.tensor([0, 1, 1, 0]), "k": 2},
                [("x", "x"), ("y", "y"), ("k", "k")])
    kinds = {key[1:] for key, _ in problems(call)}
    assert ("x", "NaN") in kinds and ("x", "wrong type") in kinds and ("x", "mismatched batch") in kinds
    assert ("x", "empty") in kinds  # the mean of nothing is NaN
    assert ("k", "wrong type") in kinds


def test_a_checked_function_passes():
    @_in_package
    def checked(x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"checked: x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[0] == 0 or not torch.isfinite(x).all():
            raise ValueError(f"checked: x must be a finite (batch, d) tensor, got shape {tuple(x.shape)}")
        return x.sum()

    assert problems(Call("checked", checked, [], {"x": torch.randn(4, 3)}, [("x", "x")])) == []


def test_a_call_that_ends_its_process_or_runs_on_is_caught(monkeypatch):
    """A spoiled call that kills the process, spins past the CPU limit or sleeps past the wall-clock limit is
    reported, and the walk goes on with the next spoiling in a fresh process."""
    monkeypatch.setattr(walk, "WALL_LIMIT", 3.0)

    @_in_package
    def fragile(x, t=1.0):
        if not isinstance(x, torch.Tensor):
            os._exit(3)
        if isinstance(t, str):
            time.sleep(60)
        if torch.isnan(x).any():
            while True:
                pass
        return x.sum() * t

    call = Call("fragile", fragile, [], {"x": torch.randn(4, 3), "t": 1.0}, [("x", "x"), ("t", "t")])
    found = dict(problems(call))
    assert "died" in found[("fragile", "x", "wrong type")]
    assert found[("fragile", "x", "NaN")] == "ran past the time limit"
    assert found[("fragile", "t", "wrong type")] == "ran past the time limit"
    assert ("fragile", "t", "NaN") in found  # the walk went on after each of them


def test_the_walk_leaves_the_test_process_alone():
    """The calls run in child processes: a name's calls cannot change this process's state."""
    before = torch.get_num_threads(), torch.initial_seed(), os.getcwd()

    def meddling(x):
        torch.set_num_threads(7)
        torch.manual_seed(123)
        os.chdir("/")
        return x

    problems(Call("meddling", meddling, [], {"x": torch.randn(2, 2)}, [("x", "x")]))
    assert (torch.get_num_threads(), torch.initial_seed(), os.getcwd()) == before


if __name__ == "__main__":  # the failures of today that are not accepted (known gaps included)
    os.environ.setdefault("MMCOURSE_PROGRESS", "0")
    torch.set_num_threads(1)
    walk.main(lambda key: accepted(key, known=False))
