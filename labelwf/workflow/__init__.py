"""The workflow language: a programme's file format, loaded and validated whole into frozen definitions.

Owns the definition (``definition``: ``Workflow`` and its states, transitions, fields), the YAML
reader that keeps lines (``yamlfile``), the safe conditions (``conditions``), timers as declared and
their due dates (``timers``, ``timer_specs``), the loader (``loader``, ``loader_letters``), one
``transitions`` machine per version (``machine``), diagrams (``diagram``) and diffs between
versions (``diff``).

May import: ``letters`` (a workflow's letters are checked when it loads), the ground floor
(``clock``, ``errors``, ``config``, ``logs``, ``text``). Nothing here reads or writes a database.
"""
