"""Evaluation: a trained model's scores, as an ordered list of self-declaring parts.

`run.evaluate` runs the parts registered in `parts/` (one file each:
`part.EvaluationPart` says what a part declares: settings, score keys,
needs, cost). The modules beside it hold the computations the parts call:
`interpretability` (the metrics on codes), `latent_scores` and
`posterior_stats` (posterior correlation, total correlation, rate, active
units, bounds), `point_mass` (the same for a code without a density),
`posterior_codes` (posterior MIG, UDR codes), `inference_gaps`,
`kl_decomposition`, `rotations`, `traversals`, `reconstructions`;
`trajectory` scores checkpoints along training; `saved_parts` keeps finished
parts of an interrupted evaluation. Importing this package does not import
TensorFlow; the modules that need it import it themselves.
"""
