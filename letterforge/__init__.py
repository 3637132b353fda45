"""letterforge: dunning letters from validated debtor data, exact money and explicit dates."""

__version__ = "0.1.0"
