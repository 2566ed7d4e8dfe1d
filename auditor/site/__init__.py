"""The runbook site: ``site/`` (the runbook, as Jinja2 Markdown templates) plus JSON
reports -> an MkDocs (mkdocs-material) site, built strict and offline.

``build`` orchestrates; ``pages`` renders the source with the config's names and the
``findings()`` hook (``findings``); ``dashboard``, ``history`` and ``reference`` generate
their pages; ``reports`` loads reports and derives the current state and its history;
``md`` escapes everything that comes from configs and reports; ``anchors`` checks that
every check's runbook link resolves; ``serve`` previews the built site.
"""
