package io.rolexkv.rolex.model;

/**
 * Where a model set puts a key: the model that owns it, the predicted rank, and the ranks {@code [lowRank,
 * highRank]} that hold the key if it was a training key (the epsilon slack around the prediction, clamped to the
 * model's ranks). For a key that was not trained on, the range still meets its insertion neighbourhood; see
 * {@link LearnedModels#predict(long)}.
 */
public record RankPrediction(int modelIndex, long rank, long lowRank, long highRank) {
}
