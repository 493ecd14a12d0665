"""Delivering reports to people: notifications, PDF, several shops in one run, schedules, the archive.

This layer sits above :mod:`workbench.run` (it starts batches and reads what they wrote) and below
the command line. Nothing here computes a figure: every number comes from a run's ``run.json`` and
its notebooks' findings records.

- :mod:`~workbench.deliver.summary`: what a finished run says, in the report's language;
- :mod:`~workbench.deliver.notify`: WeCom, DingTalk, Feishu/Lark, Slack, generic webhooks and e-mail;
- :mod:`~workbench.deliver.pdf`: PDF of every page through headless Chromium;
- :mod:`~workbench.deliver.shops`: one batch per shop and a roll-up page;
- :mod:`~workbench.deliver.archive`: ``reports/index.html`` over every run, and retention;
- :mod:`~workbench.deliver.schedule`: schedules kept in a YAML file, run when due under a lock;
- :mod:`~workbench.deliver.command`: the ``workbench run`` and ``workbench schedule`` commands.
"""
