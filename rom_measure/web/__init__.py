"""The clinic web app (``rom-measure serve``): patients, visits, recording, history.

Needs the ``[web]`` extra. Nothing is imported here, so ``import rom_measure.web``
has no cost and no side effect; use :func:`rom_measure.web.app.create_app`.
"""
