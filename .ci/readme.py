"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, which needs Quarto; Quarto is not installable here).

Usage: python .ci/readme.py [--check]   (--check: exit 1 if README.md is out of date)
Links to chapters (`00_patches.ipynb`) become links to their pages on the docs site; code cells keep their saved outputs.
"""
import base64, re, sys
from pathlib import Path
from nbdev.config import get_config
from execnb.nbio import read_nb

def render(nb_path, doc_url):
    "README text, and {relative path: PNG bytes} for the figures it shows (written under nbs/images/)."
    nb, out, images = read_nb(nb_path), [], {}
    for c in nb.cells:
        src = c.source
        if c.cell_type == 'markdown':
            src = re.sub(r'\]\((\d\d[a-z]?_\w+)\.ipynb\)', lambda m: f']({doc_url}/{m.group(1)}.html)', src)
            out.append(src)
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
    md = "<!-- generated from nbs/index.ipynb by .ci/readme.py; edit the notebook, not this file -->\n\n" + '\n\n'.join(out) + '\n'
    return md, images

if __name__ == '__main__':
    cfg = get_config()
    md, images = render(cfg.nbs_path/cfg.readme_nb, f"{cfg.doc_host}{cfg.doc_baseurl}")
    readme, root = cfg.config_path/'README.md', cfg.config_path
    if '--check' in sys.argv:
        stale = (not readme.exists() or readme.read_text() != md or
                 any(not (root/p).exists() or (root/p).read_bytes() != b for p, b in images.items()))
        if stale: sys.exit("README.md (or its figures in nbs/images/) is out of date: run `python .ci/readme.py` and commit it")
    else:
        readme.write_text(md)
        for p, b in images.items(): (root/p).parent.mkdir(exist_ok=True); (root/p).write_bytes(b)
