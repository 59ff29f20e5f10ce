"""Model entries, one per module; every module here is imported when the registry is first used.

Adding an entry is adding one file here with a `@register_model("name")`
class (see `beta_vae_free_bits.py` and docs/adding-a-model-entry.md).
"""
