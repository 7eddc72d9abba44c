"""Programme operations: one act on many instances, frozen as a plan, run over the batch runner.

Owns what every plan shares (``plan_items``), the kinds of plans (``bulk`` decisions, deadline
moves in ``timer_moves``, ``migration`` to a new workflow version), ``plans`` above them (run,
cancel, list any kind), entity changes (``entity_changes``: merge, cease) and CSV imports
(``importer``).

May import: ``engine`` and everything below it.
"""
