"""Evaluation: turns a trained encoder into codes and scores.

`posterior_stats` holds the pure math on posterior parameters and samples
(correlation, Gaussian total correlation, the aggregate-posterior total
correlation estimator, active units, per-latent KL); `latent_scores` runs a
model over observations and returns the correlation and information scores;
`plots` draws them. Importing this package does not import TensorFlow; the
modules that need it import it themselves.
"""
