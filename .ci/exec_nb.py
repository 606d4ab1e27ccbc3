"""Execute notebooks top to bottom and save them *with* outputs, skipping `#| eval: false` cells (as nbdev_test does).

Usage (from the repo root):  python .ci/exec_nb.py nbs/00_patches.ipynb [more.ipynb ...]
The docs site shows saved outputs only, so run this after editing a chapter, then `nbdev_export && nbdev_clean`.
"""
import os, re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

_no_eval = re.compile(r'^#\|\s*eval\s*:\s*false', re.M | re.I)

def skip(cell):
    return cell.cell_type != 'code' or bool(_no_eval.search(cell.source)) or 'nbdev_export(' in cell.source

def run(fn):
    fn = Path(fn).absolute()
    nb = read_nb(fn)
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None
    sys.path.insert(0, str(Path.cwd()))          # this checkout's clip_nbdev, even in a git worktree
    t0, cwd = time.time(), os.getcwd()
    os.chdir(fn.parent)
    try:
        sh = CaptureShell(fn)
        sh.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    write_nb(nb, fn)
    print(f"{fn.name}: {time.time()-t0:.1f} s")

if __name__ == '__main__':
    os.environ.setdefault('MPLBACKEND', 'Agg')
    os.environ.setdefault('IN_TEST', '1')         # notebooks keep torch threads modest, as under nbdev_test
    for f in sys.argv[1:]: run(f)
