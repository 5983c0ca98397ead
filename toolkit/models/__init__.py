"""The estimators users fit: :class:`Synthesizer` and :class:`AnomalyDetector`, with the
copy guard, the isolation forest on latent codes and the private (DP) path they use."""
