"""The page's own CSS (inline, so static reports and dashboards need nothing from a CDN).

Live pages (JupyterLab, Voila): a section's first answer is plain output and its redraws go to an
``ipywidgets.Output`` below it (see ``Notebook._redraw_area``). Once that area is marked
``wb-live`` the first answer of the same cell is hidden; while a redraw has not reached a section
(``wb-stale``) its answer is dimmed.
"""

STYLE = """<style>
.wb-title{margin-bottom:0}.wb-question-main{color:#555;margin-top:4px}
.wb-findings{background:#f4f8ff;border-left:4px solid #1f6feb;padding:6px 14px;margin:10px 0}
.wb-finding{margin:4px 0 14px 0;font-weight:500}.wb-skipped{color:#9a6700}
.wb-error{background:#fff5f5;border-left:4px solid #c92a2a;padding:8px 14px;white-space:pre-wrap}
.wb-table{border-collapse:collapse;font-size:13px}.wb-table td,.wb-table th{padding:3px 10px;text-align:left;vertical-align:top}
.wb-table .num{text-align:right;white-space:nowrap}.wb-table .short{white-space:nowrap}.wb-table thead th{border-bottom:1px solid #ccc}
.jp-Cell:has(.wb-live) .jp-OutputArea-child:not(:has(.wb-redraw-area, .wb-question)):not(.wb-redraw-area *){display:none}
.jp-Cell:has(.wb-stale) .jp-OutputArea-child:not(:has(.wb-question)){opacity:.45;transition:opacity .15s}
</style>"""
