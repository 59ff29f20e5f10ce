"""Posterior families, one file each (`diagonal`, `full_covariance`, `iaf`).

Every module here is imported the first time `benchmark.models.posteriors.POSTERIORS`
is used, so adding a family is adding one file (see
docs/adding-a-posterior-family.md).
"""
