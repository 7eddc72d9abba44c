"""Scenarios of dated decisions and their replay on a simulated clock.

Owns a scenario's file and validation (``scenario``), its programme operations (``scenario_acts``),
the replay from deadline to deadline (``replay``) and the operations replayed through the
library's own (``replay_acts``).

May import: ``operations``, ``engine`` and everything below them.
"""
