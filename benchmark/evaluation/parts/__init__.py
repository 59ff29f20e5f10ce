"""The evaluation parts, one module each (`benchmark.evaluation.part` says what a part declares).

Every module here registers one `EvaluationPart` when imported; the registry
imports them all before its first lookup.
"""
