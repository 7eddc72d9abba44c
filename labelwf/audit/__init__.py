"""The audit trail: the hash chains, their verification, and what pins them from outside.

Owns the canonical forms and hashes (``hashing``), the verification of every chain and letter
(``verification``), a letter checked against its event's seal (``seals``), the sealed records a fire
writes (``sealing``), signed checkpoints and their folder (``checkpoint``, ``checkpoints``), the
audit key (``key``), the administrative acts' chain (``admin_chain``), the export (``export``) and
the whole-trail verification the shells run (``trail``).

May import: ``letters`` (the checksums a chain seals), ``store``, the ground floor. Never the
engine: the engine writes through this package, the audit only reads.
"""
