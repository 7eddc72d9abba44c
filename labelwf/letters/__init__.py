"""Letters as templates: their declaration, rendering, safety bounds and checks.

Owns what a workflow declares of a letter (``spec``), rendering with the sandboxed Jinja2
(``render``) and the filters templates use (``filters``), what the sandbox would refuse and the
bounds on a template (``template_safety``), a template file checked before use (``template_check``),
French typography (``typography``), forms of address and regions (``address``), and the checker of
rendered letters (``letter_check``).

May import: the ground floor only. Rendering takes a ``LetterSource`` (a workflow version is one),
so that ``workflow``, which checks its letters when it loads, sits above this package. What a letter
sees of a fire, previews and the outbox's delivery belong to ``engine``, which renders and sends.
"""
