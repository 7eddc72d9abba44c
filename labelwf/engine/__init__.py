"""The engine: the only writer of state, and what runs it.

Owns the fire in named steps (``fire``: ``Engine``), the pure decision (``decision``), a fire's
result (``fired``), the batch runner (``batch``), chain events that are not transitions
(``chain``) and the operator's actions on recorded state (``actions``), the deadline sweep
(``deadlines``) and the daemon around it (``daemon``), the outbox's delivery after commit
(``delivery``; its files ``outbox_files``, its PDFs ``pdf`` in worker processes ``pdf_pool``),
what a letter sees of a step and previews (``letter_context``, ``previews``), and
the typed reads and JSON forms front ends show (``queries``, ``representations``).

May import: ``workflow``, ``audit``, ``letters``, ``store``, the ground floor.
"""
