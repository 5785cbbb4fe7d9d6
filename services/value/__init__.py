"""Customer value: buy-till-you-die models of how often customers buy and whether they are still alive.

`bgnbd`: the BG/NBD model (Fader, Hardie & Lee 2005) and its modified form (Batislam, Denizel &
Filiztekin 2007), in which a customer may drop out right after any purchase including the first,
so a one-time buyer is not certainly alive. `gamma_gamma`: the Gamma-Gamma model of spend per
purchase (Fader & Hardie 2013). The published likelihoods are implemented with scipy: the one
maintained library with these models (PyMC-Marketing) brings PyMC and its compiler stack, far
heavier than a web app warrants. Each is validated on the CDNOW sample against the published
estimates (tests/test_value_models.py).
"""
