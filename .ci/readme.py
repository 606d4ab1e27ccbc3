"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, which needs Quarto; Quarto is not installable here).

Usage: python .ci/readme.py [--check]   (--check: exit 1 if README.md is out of date)
Links to chapters (`00_patches.ipynb`) become links to their pages on the docs site; code cells keep their saved outputs.
"""
import re, sys
from pathlib import Path
from nbdev.config import get_config
from execnb.nbio import read_nb

def render(nb_path, doc_url):
    nb, out = read_nb(nb_path), []
    for c in nb.cells:
        src = c.source
        if c.cell_type == 'markdown':
            src = re.sub(r'\]\((\d\d_\w+)\.ipynb\)', lambda m: f']({doc_url}/{m.group(1)}.html)', src)
            out.append(src)
        elif c.cell_type == 'code':
            if re.search(r'^#\|\s*(hide|export)', src, re.M): continue
            out.append(f"``` python\n{src}\n```")
            for o in c.get('outputs', []):
                text = o.get('text') or o.get('data', {}).get('text/plain')
                if text: out.append("    " + ''.join(text).rstrip().replace('\n', '\n    '))
    return "<!-- generated from nbs/index.ipynb by .ci/readme.py; edit the notebook, not this file -->\n\n" + '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    cfg = get_config()
    md = render(cfg.nbs_path/cfg.readme_nb, f"{cfg.doc_host}{cfg.doc_baseurl}")
    readme = cfg.config_path/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != md: sys.exit("README.md is out of date: run `python .ci/readme.py` and commit it")
    else: readme.write_text(md)
