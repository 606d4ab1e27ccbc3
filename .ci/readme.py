"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, which needs Quarto; Quarto is not installable here).

Usage: python .ci/readme.py [--check]   (--check: exit 1 if README.md does not say what nbs/index.ipynb says)
Code cells keep their saved outputs; figures go to nbs/images/ (tracked), not to index_files/ (where Quarto puts them, ignored).
Links: the index links chapters by their docs-site address, with the page names nbdev 2 gives them (`00_patches.ipynb` is
`patches.html`), so the README that `nbdev_docs` writes through Quarto has the same links as this one; a relative
`NN_name.ipynb` link that slips in is rewritten to its page here (and rejected by .ci/nb_checks.py).

`nbdev_docs` rewrites README.md through Quarto when nbs/index.ipynb is newer than it (nbdev.quarto.nbdev_readme with
chk_time=True), with Quarto's formatting (wrapped lines, padded tables, figures under index_files/). `--check` accepts that
file as well when it says the same thing: the same words in the same order and the same links, formatting aside.
"""
import base64, re, sys
from pathlib import Path
from nbdev.config import get_config
from nbdev.doclinks import _nbpath2html
from execnb.nbio import read_nb

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

def links(md): return re.findall(r'\]\((https?://[^)\s]+)\)', md)

def words(md):
    "The words of a Markdown text, formatting aside: no comments, figures, emphasis, table rules, escapes or line breaks."
    md = re.sub(r'<!--.*?-->', ' ', md, flags=re.S)
    md = re.sub(r'!\[[^\]]*\]\([^)]*\)', ' ', md)
    md = re.sub(r'\]\([^)]*\)', ']', md)                           # link targets are compared on their own
    md = re.sub(r'[\\*_`#>|\[\]<>{}\-:=~^]', ' ', md)
    return md.split()

def same_content(readme:str, md:str) -> bool:
    "True if `readme` (e.g. Quarto's rendering of the index) says what `md` says: same words in order, same links."
    body = words(md.split('\n\n', 3)[-1])          # after our header, the H1 and the summary (Quarto renders the title block its own way)
    w = words(readme)
    starts = [i for i in range(len(w)) if w[i:i + 8] == body[:8]]
    return bool(starts) and w[starts[0]:] == body and links(readme) == links(md)

if __name__ == '__main__':
    cfg = get_config()
    md, images = render(cfg.nbs_path/cfg.readme_nb, f"{cfg.doc_host}{cfg.doc_baseurl}")
    readme, root = cfg.config_path/'README.md', cfg.config_path
    if '--check' in sys.argv:
        current = readme.read_text() if readme.exists() else ''
        figures_ok = all((root/p).exists() and (root/p).read_bytes() == b for p, b in images.items())
        if current == md and figures_ok: sys.exit(0)
        if current and not current.startswith(HEADER) and same_content(current, md):
            print("README.md was written by nbdev_docs (Quarto) and says what nbs/index.ipynb says; "
                  "`python .ci/readme.py` restores the committed form (figures in nbs/images/)")
            sys.exit(0)
        sys.exit("README.md (or its figures in nbs/images/) is out of date: run `python .ci/readme.py` and commit it")
    else:
        readme.write_text(md)
        for p, b in images.items(): (root/p).parent.mkdir(exist_ok=True); (root/p).write_bytes(b)
