"""Write a notebook from a Python file whose cells are separated by lines '# %%' (markdown cells: '# %% [markdown]').

The first code cell is tagged `parameters`. Usage: python tools/mknb.py SRC.py notebooks/NN_topic.ipynb
Outputs are never written: notebooks are committed clean.
"""
import sys

import nbformat


def build(src: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    chunks = src.split("# %%")
    tagged = False
    for chunk in chunks[1:]:
        head, _, body = chunk.partition("\n")
        body = body.strip("\n")
        if head.strip().startswith("[markdown]"):
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(body)
            if not tagged:
                cell.metadata["tags"] = ["parameters"]
                tagged = True
            nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    nbformat.write(build(open(src, encoding="utf-8").read()), dst)
