"""Check the docs site as far as these machines allow (Quarto is not installable here).

1. `nbdev_proc_nbs` processes every notebook as `nbdev_docs` would;
2. every processed notebook renders to HTML with nbconvert (saved outputs, figures embedded);
3. headless Chromium loads each page from a local file; the check fails if a page shows an error output or a
   traceback, if an image does not load, or if a chapter page (NN_*.ipynb) has no figure;
4. the processed notebooks' API docs (the `show_doc` output nbdev renders) must not show raw Markdown links inside a
   signature (nbdev links backticked names in docments comments even inside the code block), a builtin's docstring
   such as "Call self as a function." (an undocumented function), or nn.Module's `(*args, **kwargs)` for a class;
   no Markdown paragraph may be a lone linked image with alt text (Quarto makes it a figure captioned with the alt, as it
   did with the Colab badge, which then also became the first search snippet of every page).
Usage: python .ci/docs_check.py [--screenshots DIR]    (writes a PNG of each page to DIR, for looking at)
"""
import json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
import yaml
import nbformat

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
         '--disable-component-update', '--disable-sync', '--disable-quic', '--hide-scrollbars']
# After load, record how many images the page has and which failed to load, where --dump-dom can read it.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images].filter(i => !/^https?:/.test(i.getAttribute('src') || ''));  // remote badges can't load offline
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => (i.getAttribute('src') || '').slice(0, 60));
  document.body.setAttribute('data-n-images', imgs.length);
  document.body.setAttribute('data-broken', JSON.stringify(broken));
  document.body.setAttribute('data-height', document.documentElement.scrollHeight);
});</script>"""

def render(proc_nb:Path, out_dir:Path) -> Path:
    nb = nbformat.read(proc_nb, as_version=4)
    for c in nb.cells:   # as Quarto shows it: the front matter as a title block, `#| echo: false` cells without their code
        if c.cell_type == 'raw' and c.source.startswith('---'):
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            c.cell_type, c.source = 'markdown', f"# {fm.get('title', '')}\n\n*{fm.get('description', '')}*"
            c.pop('outputs', None); c.pop('execution_count', None)
        elif c.cell_type == 'code' and re.search(r'^#\|\s*echo:\s*false', c.source, re.M):
            c.metadata.setdefault('tags', []).append('remove_input')
    exporter = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'remove_input'}, enabled=True), enabled=True)
    html, _ = exporter.from_notebook_node(nb)
    html = re.sub(r'<script[^>]+src="https?://[^"]+"[^>]*></script>', '', html)   # no network here: drop CDN scripts (MathJax, require.js)
    out = out_dir/f'{proc_nb.stem}.html'
    out.write_text(html.replace('</body>', PROBE + '</body>'))
    return out

def browse(page:Path, profile:str, screenshot:Path|None=None) -> str:
    args = [CHROMIUM, *FLAGS, f'--user-data-dir={profile}', '--virtual-time-budget=5000']
    if screenshot: subprocess.run(args + ['--window-size=1100,2600', f'--screenshot={screenshot}', page.as_uri()], capture_output=True, timeout=120)
    return subprocess.run(args + ['--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=120).stdout

def check(name:str, dom:str) -> list[str]:
    problems = []
    m = re.search(r'<body[^>]*data-n-images="(\d+)"[^>]*>', dom) or re.search(r'data-n-images="(\d+)"', dom)
    if not m: return ['the page did not finish loading in the browser'], 0, 0
    n_images = int(m.group(1))
    broken = json.loads(re.search(r"data-broken=\"([^\"]*)\"", dom).group(1).replace('&quot;', '"'))
    if broken: problems.append(f'{len(broken)} broken image(s): {broken[:3]}')
    if 'Traceback (most recent call last)' in dom or re.search(r'\b\w+Error</span>: ', dom): problems.append('shows a traceback')
    if 'application/vnd.jupyter.stderr' in dom and re.search(r'Error|Exception', dom.split('application/vnd.jupyter.stderr', 1)[1][:2000]):
        problems.append('shows an error on stderr')
    if re.match(r'\d\d_', name) and n_images == 0: problems.append('chapter page has no figure')
    height = re.search(r'data-height="(\d+)"', dom)
    return problems, n_images, int(height.group(1)) if height else 0

FENCE = re.compile(r'```python\n(.*?)```', re.S)
LONE_LINKED_IMAGE = re.compile(r'^\s*\[!\[([^\]]+)\]\([^)]*\)\]\([^)]*\)\s*$')

def api_doc_problems(proc_nb:Path) -> list[str]:
    "What a reader would see wrong in the processed notebook's API docs and badges (see the module docstring)."
    problems = []
    for c in json.loads(proc_nb.read_text())['cells']:
        if c['cell_type'] == 'markdown':
            for para in ''.join(c['source']).split('\n\n'):
                if (m := LONE_LINKED_IMAGE.match(para)):
                    problems.append(f'a lone linked image {m.group(1)!r} renders as a captioned figure: {para.strip()[:60]}')
        for o in c.get('outputs', []):
            md = ''.join(o.get('data', {}).get('text/markdown', ''))
            if not md: continue
            name = (re.search(r'^#+\s+(\S+)', md, re.M) or re.search(r'(\w+)', md)).group(1)
            for sig in FENCE.findall(md):
                if (link := re.search(r'[^\n]*\]\([^)]*\)[^\n]*', sig)):
                    problems.append(f'{name}: raw Markdown link in its signature: {link.group(0).strip()[:90]!r}')
                if '*args:Any, **kwargs:Any' in sig: problems.append(f'{name}: documented as (*args, **kwargs), nn.Module\'s signature')
            if 'Call self as a function' in md: problems.append(f'{name}: documented as "Call self as a function." (no docstring)')
    return problems

def main():
    shots = Path(sys.argv[sys.argv.index('--screenshots') + 1]) if '--screenshots' in sys.argv else None
    if not CHROMIUM: sys.exit('docs check: chromium not found (Debian package `chromium`)')
    t0 = time.time()
    r = subprocess.run(['nbdev_proc_nbs'], capture_output=True, text=True)
    if r.returncode: sys.exit(f'docs check: nbdev_proc_nbs failed\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}')
    proc = Path('_proc')
    nbs = sorted(p for p in proc.glob('*.ipynb') if not p.name.startswith('_'))
    for p in nbs:   # a saved error output fails the check even if the page hides it
        errs = [o for c in json.loads(p.read_text())['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
        if errs: sys.exit(f'docs check: {p.name} has {len(errs)} saved error output(s)')
    print(f'nbdev_proc_nbs: {time.time() - t0:.0f} s')
    api_failed = 0
    for p in nbs:
        for problem in api_doc_problems(p): print(f'FAIL {p.name}: {problem}'); api_failed += 1
    out_dir = Path(tempfile.mkdtemp(prefix='clip_nbdev_docs_'))
    if shots: shots.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory() as profile:
        for p in nbs:
            page = render(p, out_dir)
            problems, n_images, height = check(p.name, browse(page, profile, shots/f'{p.stem}.png' if shots else None))
            print(f"{'ok  ' if not problems else 'FAIL'} {p.name:28s} {n_images:3d} figure(s) {height:6d} px tall  {'; '.join(problems)}")
            failed += bool(problems)
    print(f'docs check: {len(nbs) - failed} pages ok, {failed} with problems, {time.time() - t0:.0f} s (HTML in {out_dir})')
    if api_failed: print(f'docs check: {api_failed} problem(s) in the API docs and badges (listed above)')
    sys.exit(1 if failed or api_failed else 0)

if __name__ == '__main__': main()
