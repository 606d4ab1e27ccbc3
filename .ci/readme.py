"""Write README.md from nbs/index.ipynb, the site's home page (what `nbdev_readme` would do through Quarto).

Usage: python .ci/readme.py [--check]   (--check: exit 1 if README.md is not exactly what this script writes)
Code cells keep their saved outputs; figures go to nbs/images/ (tracked), not to index_files/ (where Quarto puts them).
Links: the index links chapters by their docs-site address, with the page names nbdev 2 gives them (`00_patches.ipynb` is
`patches.html`); a relative `NN_name.ipynb` link that slips in is rewritten to its page here (and rejected by .ci/nb_checks.py).

This is the only writer of README.md: settings.ini's readme_nb names README.md itself, so `nbdev_docs` (whose README test
compares README.md with readme_nb's timestamp) never rewrites it, whatever the checkout's timestamps. .ci/site_check.py
checks that every link README.md makes into the site reaches a page and anchor the site has.
"""
import base64, re, sys
from pathlib import Path
from nbdev.config import get_config
from nbdev.doclinks import _nbpath2html
from execnb.nbio import read_nb

INDEX_NB = 'index.ipynb'
HEADER = "<!-- generated from nbs/index.ipynb by .ci/readme.py; edit the notebook, not this file -->"

def render(nb_path, doc_url):
    "README text, and {relative path: PNG bytes} for the figures it shows (written under nbs/images/)."
    nb, out, images = read_nb(nb_path), [], {}
    page = lambda m: f"]({doc_url}/{_nbpath2html(Path(m.group(1) + '.ipynb')).name}{m.group(2) or ''})"
    for c in nb.cells:
        src = c.source
        if c.cell_type == 'markdown':
            out.append(re.sub(r'\]\(((?:\d\d[a-z]?|[A-Z]\d+)_\w+)\.ipynb(#[^)]*)?\)', page, src))
        elif c.cell_type == 'code':
            if re.search(r'^#\|\s*(hide|export)', src, re.M): continue
            if not re.search(r'^#\|\s*echo:\s*false', src, re.M): out.append(f"``` python\n{src}\n```")
            for o in c.get('outputs', []):
                data = o.get('data', {})
                if 'image/png' in data:
                    path = f"nbs/images/index_{len(images)}.png"
                    images[path] = base64.b64decode(''.join(data['image/png']))
                    out.append(f"![]({path})")
                    continue
                if 'text/markdown' in data:
                    out.append(''.join(data['text/markdown']).strip()); continue
                text = o.get('text') or data.get('text/plain')
                if text: out.append("    " + ''.join(text).rstrip().replace('\n', '\n    '))
    md = HEADER + "\n\n" + '\n\n'.join(out) + '\n'
    return md, images

if __name__ == '__main__':
    cfg = get_config()
    md, images = render(cfg.nbs_path/INDEX_NB, f"{cfg.doc_host}{cfg.doc_baseurl}")
    readme, root = cfg.config_path/'README.md', cfg.config_path
    if '--check' in sys.argv:
        current = readme.read_text() if readme.exists() else ''
        figures_ok = all((root/p).exists() and (root/p).read_bytes() == b for p, b in images.items())
        if current == md and figures_ok: sys.exit(0)
        sys.exit("README.md (or its figures in nbs/images/) is out of date: run `python .ci/readme.py` and commit it")
    else:
        readme.write_text(md)
        for p, b in images.items(): (root/p).parent.mkdir(exist_ok=True); (root/p).write_bytes(b)
