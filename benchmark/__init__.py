"""disbench: a disentanglement benchmark comparing diagonal and correlated VAE posteriors.

Importing the package is cheap: TensorFlow is only imported by the parts that
train or evaluate models (`benchmark.models`, `benchmark.training`, ...), never
by `benchmark.data` registries, `benchmark.metrics` or `disbench score`.
"""

__version__ = "0.1.0"
