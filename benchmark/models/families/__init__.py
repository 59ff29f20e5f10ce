"""Posterior families, one file each (`diagonal`, `full_covariance`, `iaf`).

Every module here is imported the first time `benchmark.models.posteriors.POSTERIORS`
is used, so adding a family is adding one file (see the README, "Adding a
posterior family").
"""
