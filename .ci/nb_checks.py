"""Static checks of the notebooks and the pages a reader follows (fast: reads files, runs nothing heavy).

Each check prints `FAIL <notebook>: <what is wrong>` lines; the script exits 1 if any fails.
  kernelspec   every notebook names the python3 kernel (JupyterLab then opens it without asking)
  sidebar      every notebook is in nbs/sidebar.yml, every entry exists, labels carry one unambiguous number
  links        README/notebook links into the docs site name pages nbdev 2 produces; the index links absolutely
  markdown     no Markdown cell holds Python code (it would render as prose and its test would never run)
  outputs      no saved widget view, progress bar or `<ipython-input-…>` warning location in outputs
  quarto       nbs/_quarto.yml keeps previous/next page navigation, a dark theme and wrapped code (see issue 14)
  install      each chapter's Colab cell installs `clip_nbdev[nb]` from git (and the emoji packages where used);
               reference libraries are imported in cells of their own; the closing export cell is a no-op off-project
  words        the text speaks to a learner: no project talk (WORDS below) in any notebook's Markdown, code comments or
               string literals (figure titles and legends are strings), and no bare "chapter 05"/"chapter 06" (the
               chapters are 05a/05b and 06a/06b); the check first proves on fixtures that it fails (words_self_test)
  exercises    a solution cell (`#| code-summary: "Solution"`) is folded on the site (`#| code-fold: true`) and hidden
               in Jupyter too (cell metadata {"jupyter": {"source_hidden": true}}), and a cell after it runs code (its test)
  size         no main-path chapter (prologue, 00–07) holds more than MAX_CODE_LINES lines of code (non-blank lines of
               code cells): plumbing goes to an appendix; prints the per-chapter table. A chapter listed in OVER_BUDGET
               may not grow beyond its listed count while it is being brought under the limit
Usage: python .ci/nb_checks.py [--root DIR]
"""
import ast, io, json, os, re, subprocess, sys, tempfile, tokenize, types
from configparser import ConfigParser
from pathlib import Path
import yaml

# Modules that the base requirements (settings.ini `requirements`), Jupyter itself or the stdlib provide; any other
# import in a chapter is a reference library or reader from the `nb` extra and must sit in a cell of its own.
BASE_MODULES = {'clip_nbdev', 'torch', 'torchvision', 'einops', 'matplotlib', 'PIL', 'numpy', 'fastcore', 'regex', 'ftfy',
                'tqdm', 'IPython'} | set(sys.stdlib_module_names)
EMOJI_USES = re.compile(r'NotoColorEmoji|/usr/share/fonts/truetype/noto|/usr/share/unicode|\bemoji_\w+\(|clip_nbdev\.emoji\b')
EMOJI_APT = 'fonts-noto-color-emoji unicode-data unicode-cldr-core'
INDEX_NB = 'index.ipynb'   # the site's home page, from which .ci/readme.py writes README.md (settings.ini: readme_nb)

# Words a learner should never meet: talk about how the project is run rather than about CLIP. Each entry is
# (name, pattern, an example the pattern must catch, a legitimate sentence it must let through); the examples are
# the fixtures of `words_self_test`. Decisions: "issue" is rejected everywhere, quotes included (no library message
# we quote needs it; match a shorter part of such a message instead); "seed" alone is a random seed and allowed;
# all rules ignore case except "CI", matched in capitals only (`.ci/run` and "ci" inside words pass); "session" and
# "budget" are rejected whole. Names in code are not read, only comments and strings (a variable `budget` is fine).
WORDS = [
    ('issue',       r'\bissues?\b',                               'the target the issue set',
                    'an open question'),
    ('session',     r'\bsessions?\b',                             "a developer's earlier session",
                    'InferenceSession and possession are other words'),
    ('seed project', r'\bseed[- ]projects?\b|\bseed 0\d\d\b',
                    "seed 003's captions.txt", 'trained with seed 0, then with another seed'),
    ('target',      r'\b\d+\s*% target\b|\btarget (?:R@\d+ )?[≥>]?=?\s*\d+\s*%',
                    'dotted: the 35% target', 'the target matrix of a batch'),
    ('CI',          r'\bCI\b',                                    "so they don't run in CI",
                    'bash .ci/run, the circle and the cities'),
    ('budget',      r'\bbudgets?\b',                              "this chapter's two-minute budget",
                    'a fixed amount of compute'),
    ('restructure', r'\brestructur\w*|\buntil this (chapter|notebook) was\b|\bbefore the (split|restructure)\b',
                    'Until this chapter was restructured', 'the structure of the model'),
    ('project history', r'\b(?:before|until|since|on) 20\d\d-\d\d\b',
                    'the rule before 2026-12', 'a table of 2026 rows'),
    ('build machine', r'\bthis machine\b(?!\'s)|\bmachines? this project\b|\bthe machine this ran on\b',
                    'This machine has no internet', "expected 0 to this machine's 2 CPUs"),
    ('bare chapter 05/06', r'\b[Cc]hapters?\s+(?:\d\d?[a-z]?(?:,\s*|\s+and\s+|\s*[–-]\s*))*0?[56]\b(?![a-z])',
                    "chapter 05's CLIP", 'chapters 05a and 06b, chapter 04, 05a'),
    ('bare 05/06 in a list', r'\((?:\d\d[a-z]?,\s*)*0[56](?:,\s*\d\d[a-z]?)*\)|\|\s*0[56]\s*\|',
                    'the loss and the model (05)', 'the towers (05a, 05b) in 0.5 s'),
]
WORD_RES = [(name, re.compile(pat, 0 if name == 'CI' else re.I)) for name, pat, _, _ in WORDS]

def prose_pieces(cell) -> list:
    "The text a reader meets in a cell: all of a Markdown cell; the comments and string literals of a code cell."
    s = src(cell)
    if cell['cell_type'] == 'markdown': return [s]
    if cell['cell_type'] != 'code': return []
    code = '\n'.join('' if l.lstrip().startswith(('!', '%')) else l for l in s.splitlines())
    shell = [l for l in s.splitlines() if l.lstrip().startswith('!')]           # shell lines: all of it is text
    try:
        toks = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                if t.type in (tokenize.COMMENT, tokenize.STRING) or t.type == getattr(tokenize, 'FSTRING_MIDDLE', -1)]
    except (tokenize.TokenError, SyntaxError, IndentationError): toks = [code]   # not Python: read it all
    return toks + shell

def word_hits(nb) -> list:
    "[(cell index, cell id, rule name, matched text)] for every project word in a notebook's prose."
    out = []
    for i, c in enumerate(nb['cells']):
        for piece in prose_pieces(c):
            for name, rx in WORD_RES:
                for m in rx.finditer(piece): out.append((i, c.get('id'), name, m.group(0)))
    return out
MAX_CODE_LINES = 700
OVER_BUDGET = {}   # chapters over the limit and their counts, which may shrink, never grow (none today)

def code_line_count(nb:dict) -> int:
    "Non-blank lines of a notebook's code cells."
    return sum(1 for c in nb['cells'] if c['cell_type'] == 'code' for l in src(c).splitlines() if l.strip())

def page_name(nb_name:str) -> str:
    "The page nbdev 2.4.14 writes for a notebook (nbdev.doclinks._nbpath2html): number prefix dropped, .html."
    return re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb_name.lower()).rsplit('.', 1)[0] + '.html'

def src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']
def directives(s): return {m.group(1).strip() for m in re.finditer(r'^#\|\s*([\w-]+(?:\s*:\s*\w+)?)', s, re.M)}
def executed(c): return c['cell_type'] == 'code' and not re.search(r'^#\|\s*eval\s*:\s*false', src(c), re.M)

class Checks:
    def __init__(self, root:Path):
        self.root = root.resolve()
        cfg = ConfigParser(delimiters=['=']); cfg.read(self.root/'settings.ini'); self.cfg = cfg['DEFAULT']
        self.nbs_path = self.root/self.cfg.get('nbs_path', 'nbs')
        self.site = (self.cfg['doc_host'] + self.cfg['doc_baseurl']).rstrip('/')
        self.git_url = self.cfg['git_url']
        self.nbs = {p.name: json.loads(p.read_text()) for p in sorted(self.nbs_path.glob('*.ipynb')) if not p.name.startswith('_')}
        self.failures = []

    def fail(self, where, what): self.failures.append(f'FAIL {where}: {what}')

    def kernelspec(self):
        for name, nb in self.nbs.items():
            ks = nb.get('metadata', {}).get('kernelspec') or {}
            if ks.get('name') != 'python3' or ks.get('language') != 'python':
                self.fail(name, f"metadata has no python3 kernelspec (got {ks or 'none'}); JupyterLab asks for a kernel on open")

    def sidebar(self):
        entries = []
        def walk(items):
            for it in items or []:
                if isinstance(it, str): entries.append((it, None))
                elif 'href' in it and 'section' not in it: entries.append((it['href'], it.get('text')))
                else:
                    if it.get('href'): entries.append((it['href'], it.get('section')))
                    walk(it.get('contents'))
        walk(yaml.safe_load((self.nbs_path/'sidebar.yml').read_text())['website']['sidebar']['contents'])
        hrefs = [h for h, _ in entries]
        for name in self.nbs:
            if name not in hrefs: self.fail(name, 'missing from nbs/sidebar.yml: readers cannot reach it from the sidebar or the breadcrumb')
        for h in hrefs:
            if not (self.nbs_path/h).exists(): self.fail('nbs/sidebar.yml', f'entry {h} names no file in nbs/')
            if hrefs.count(h) > 1: self.fail('nbs/sidebar.yml', f'{h} appears {hrefs.count(h)} times')
        numbers = {}
        for h, text in entries:
            if h == INDEX_NB: continue
            m = re.match(r'^(Prologue|Appendix(?: ([A-Z]\d+|\d\d[a-z]?))?|(\d\d[a-z]?)) · \S', text or '')
            if not m: self.fail(h, f"sidebar label {text!r} does not start with a chapter number ('05a · '), 'Prologue' or 'Appendix'"); continue
            num = m.group(2) or m.group(3)
            file_num = re.match(r'^(\d+[a-z]?|[A-Z]\d+)_', h)
            if num and file_num and not num.startswith(file_num.group(1)):
                self.fail(h, f'sidebar number {num} does not match the file name')
            if num and num in numbers: self.fail(h, f'sidebar number {num} is also used for {numbers[num]}: numbers must be unambiguous')
            if num: numbers[num] = h
        titles = {}
        for name, nb in self.nbs.items():
            h1 = next((m.group(1) for c in nb['cells'] if c['cell_type'] == 'markdown'
                       for m in [re.search(r'^#\s+(.+)$', src(c), re.M)] if m), None)
            if h1 is None: self.fail(name, 'has no H1 title')
            elif h1 in titles: self.fail(name, f'H1 title {h1!r} is also the title of {titles[h1]}')
            else: titles[h1] = name

    def links(self):
        pages = {page_name(n) for n in self.nbs} | {'index.html'}
        readme_nb = INDEX_NB
        texts = [('README.md', (self.root/'README.md').read_text())]
        texts += [(n, src(c)) for n, nb in self.nbs.items() for c in nb['cells'] if c['cell_type'] == 'markdown']
        texts += [(n, ''.join(o.get('data', {}).get('text/markdown', ''))) for n, nb in self.nbs.items()
                  for c in nb['cells'] for o in c.get('outputs', [])]
        site = re.escape(self.site)
        for where, text in texts:
            for m in re.finditer(rf'\]\(({site}/([^)#\s]*))', text):
                page = m.group(2) or 'index.html'
                if page not in pages:
                    hint = f' (nbdev names it {page_name(page.replace(".html", ".ipynb"))})' if re.match(r'\d', page) else ''
                    self.fail(where, f'links to {m.group(1)}, a page nbdev does not produce{hint}')
            for m in re.finditer(r'\]\(([^)#\s:]+\.(?:ipynb|html))(#[^)]*)?\)', text):
                target = m.group(1)
                if where in ('README.md', readme_nb):
                    self.fail(where, f'relative link {target}: README.md is made from {readme_nb}, and on GitHub or PyPI a '
                                     f'relative link 404s; link {self.site}/{page_name(target)}')
                elif target.endswith('.ipynb') and target not in self.nbs: self.fail(where, f'links to {target}, which is not in nbs/')
                elif target.endswith('.html') and target not in pages: self.fail(where, f'links to {target}, a page nbdev does not produce')

    def quarto(self):
        q = yaml.safe_load((self.nbs_path/'_quarto.yml').read_text())
        html = q.get('format', {}).get('html', {})
        if not q.get('website', {}).get('page-navigation'): self.fail('nbs/_quarto.yml', 'website.page-navigation is not true: no previous/next links')
        if not (isinstance(html.get('theme'), dict) and 'dark' in html['theme']): self.fail('nbs/_quarto.yml', 'no dark theme (theme: {light: …, dark: …})')
        if html.get('code-overflow') != 'wrap': self.fail('nbs/_quarto.yml', 'code-overflow is not wrap: long code lines scroll sideways')

    @staticmethod
    def code_lines(md:str) -> list:
        "Lines of a Markdown cell, outside code fences, that parse as a Python statement doing something."
        out, fence = [], False
        for line in md.splitlines():
            if line.lstrip().startswith(('```', '~~~')): fence = not fence; continue
            if fence or not line.strip() or line.startswith(('    ', '\t', '|', '>', '#', '- ', '* ', '<')): continue
            try: tree = ast.parse(line.strip())
            except SyntaxError: continue
            stmt = tree.body[0] if len(tree.body) == 1 else None
            if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.Return)) or \
               isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                out.append(line)
        return out

    def markdown(self):
        for name, nb in self.nbs.items():
            for i, c in enumerate(nb['cells']):
                if c['cell_type'] == 'markdown' and (lines := self.code_lines(src(c))):
                    self.fail(name, f'Markdown cell {i} (id {c.get("id")}) holds Python code, e.g. {lines[0].strip()[:70]!r}: make it a code cell')

    PROGRESS = re.compile(r'\d+%\|[^|\n]*\|\s*\d+/\d+|\d+(?:\.\d+)?(?:it|ba|examples|B)/s\]')
    def outputs(self):
        for name, nb in self.nbs.items():
            if 'widgets' in nb.get('metadata', {}): self.fail(name, 'notebook metadata keeps saved widget state ("widgets")')
            for i, c in enumerate(nb['cells']):
                for o in c.get('outputs', []):
                    data, text = o.get('data', {}), ''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', ''))
                    if 'application/vnd.jupyter.widget-view+json' in data:
                        self.fail(name, f'cell {i} (id {c.get("id")}) keeps a saved widget output (GitHub shows it as {text[:25]!r}…): clear it')
                    if self.PROGRESS.search(text): self.fail(name, f'cell {i} (id {c.get("id")}) keeps a progress bar: {self.PROGRESS.search(text).group(0)!r}')
                    if '<ipython-input-' in text: self.fail(name, f"cell {i} (id {c.get('id')}) shows a warning located in '<ipython-input-…>'")

    def install(self):
        want = f'pip install -q "clip_nbdev[nb] @ git+{self.git_url}.git"'
        for name, nb in self.nbs.items():
            if not re.match(r'\d|[A-Z]\d', name): continue
            cells = nb['cells']
            inst = [c for c in cells if c['cell_type'] == 'code' and '[ -e /content ]' in src(c)]
            if len(inst) != 1: self.fail(name, f'expected one Colab install cell (`! [ -e /content ] && pip install …`), found {len(inst)}'); continue
            s = src(inst[0])
            if want not in s: self.fail(name, f'the Colab install cell does not run `{want}`')
            if not {'hide', 'eval: false'} <= {d.replace(' ', '').replace(':', ': ') for d in directives(s)}:
                self.fail(name, 'the Colab install cell must be `#| hide` and `#| eval: false`')
            uses_emoji = any(executed(c) and EMOJI_USES.search(src(c)) for c in cells)
            if uses_emoji and EMOJI_APT not in s:
                self.fail(name, f'uses the emoji font / Unicode tables, but its Colab cell does not apt-get install {EMOJI_APT}')
            for i, c in enumerate(cells):
                if not executed(c) or 'export' in directives(src(c)): continue
                roots = self.import_roots(src(c))
                extra, own = roots - BASE_MODULES, roots & BASE_MODULES - set(sys.stdlib_module_names)
                if extra and own:
                    self.fail(name, f'cell {i} (id {c.get("id")}) imports reference libraries {sorted(extra)} together with {sorted(own)}: '
                                    'a missing reference library would take the chapter\'s own imports down; split the cell')
            exp = [c for c in cells if c['cell_type'] == 'code' and 'nbdev_export(' in src(c)]
            if len(exp) != 1: self.fail(name, f'expected one closing nbdev_export() cell, found {len(exp)}')
            else: self.export_cell(name, src(exp[0]))

    def words(self):
        for problem in words_self_test(): self.fail('.ci/nb_checks.py', problem)
        for name, nb in self.nbs.items():
            for i, cid, rule, text in word_hits(nb):
                self.fail(name, f'cell {i} (id {cid}) says {text!r} ({rule}): speak to the learner about CLIP, '
                                'not about the project' + ('; name 05a/05b or 06a/06b' if rule.startswith('bare') else ''))

    def exercises(self):
        for name, nb in self.nbs.items():
            cells = nb['cells']
            for i, c in enumerate(cells):
                if c['cell_type'] != 'code' or not re.search(r'^#\|\s*code-summary:\s*"?Solution', src(c), re.M): continue
                where = f'cell {i} (id {c.get("id")}), a solution,'
                if not re.search(r'^#\|\s*code-fold:\s*true', src(c), re.M):
                    self.fail(name, f'{where} is not folded on the site: add `#| code-fold: true`')
                if not c.get('metadata', {}).get('jupyter', {}).get('source_hidden'):
                    self.fail(name, f'{where} shows its answer in Jupyter: set cell metadata {{"jupyter": {{"source_hidden": true}}}}')
                if not (i + 1 < len(cells) and executed(cells[i + 1]) and 'hide' not in directives(src(cells[i + 1]))):
                    self.fail(name, f'{where} is not followed by a visible code cell that tests it')
    def size(self):
        chapters = {n: nb for n, nb in self.nbs.items() if re.match(r'\d', n)}
        print(f"  {'chapter':<28}{'code lines':>11}")
        for name, nb in chapters.items():
            n, limit = code_line_count(nb), OVER_BUDGET.get(name, MAX_CODE_LINES)
            print(f"  {name:<28}{n:>11}{'  (over ' + str(MAX_CODE_LINES) + ')' if n > MAX_CODE_LINES else ''}")
            if n > limit:
                self.fail(name, f'{n} lines of code, over {limit}' + (f' (its ceiling until it is under {MAX_CODE_LINES})'
                          if name in OVER_BUDGET else '') + ': move plumbing to an appendix')
        for name in OVER_BUDGET:
            if name in chapters and code_line_count(chapters[name]) <= MAX_CODE_LINES:
                self.fail(name, f'is under {MAX_CODE_LINES} lines now: remove it from OVER_BUDGET in .ci/nb_checks.py')

    @staticmethod
    def import_roots(s):
        s = '\n'.join(l for l in s.splitlines() if not l.lstrip().startswith(('!', '%')))
        try: tree = ast.parse(s)
        except SyntaxError: return set()
        roots = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Import): roots |= {a.name.split('.')[0] for a in n.names}
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module: roots.add(n.module.split('.')[0])
        return roots

    def export_cell(self, name, s):
        "Run the closing cell with a stand-in nbdev: it must export inside the project and do nothing outside it (Colab)."
        calls = []
        fake = types.ModuleType('nbdev'); fake.nbdev_export = lambda *a, **k: calls.append(os.getcwd())
        saved, cwd = sys.modules.get('nbdev'), os.getcwd()
        sys.modules['nbdev'] = fake
        try:
            with tempfile.TemporaryDirectory() as outside:
                for where, expect in ((outside, 0), (str(self.nbs_path), 1)):
                    os.chdir(where); calls.clear()
                    try: exec(compile(s, f'{name} export cell', 'exec'), {})
                    except Exception as e: self.fail(name, f'the closing export cell raises {type(e).__name__}: {e} in {where}'); continue
                    if len(calls) != expect:
                        self.fail(name, 'the closing export cell ' + ('calls nbdev_export() outside an nbdev project (it raises on Colab)'
                                                                       if expect == 0 else 'does not call nbdev_export() inside the project'))
        finally:
            os.chdir(cwd)
            if saved is not None: sys.modules['nbdev'] = saved
            else: sys.modules.pop('nbdev', None)

def words_self_test() -> list:
    "Each WORDS rule must catch its example in Markdown, in a comment and in a string, and let its legit sentence pass."
    problems = []
    for name, pat, bad, good in WORDS:
        md = lambda t: {'cell_type': 'markdown', 'id': 'fx', 'source': [t]}
        code = lambda t: {'cell_type': 'code', 'id': 'fx', 'source': [t]}
        for kind, cell in (('Markdown', md(f'Some text: {bad}.')), ('a comment', code(f'x = 1   # {bad}')),
                           ('a string', code(f'ax.set_title({bad!r})')), ('an f-string', code(f'label = f"{{n}} {bad}"'))):
            if not any(rule == name for _, _, rule, _ in word_hits({'cells': [cell]})):
                problems.append(f'words rule {name!r} misses {bad!r} in {kind}')
        if hits := word_hits({'cells': [md(good), code(f'x = {good!r}   # {good}')]}):
            problems.append(f'words rule(s) {sorted({h[2] for h in hits})} reject the legitimate {good!r}')
    if word_hits({'cells': [{'cell_type': 'code', 'id': 'fx', 'source': ['issue = session = 1\nCI = budget']}]}):
        problems.append('words rules read names in code, not only comments and strings')
    return problems

def main():
    root = Path(sys.argv[sys.argv.index('--root') + 1]) if '--root' in sys.argv else Path(__file__).resolve().parent.parent
    ch = Checks(root)
    for check in ('kernelspec', 'sidebar', 'links', 'markdown', 'outputs', 'quarto', 'install', 'words', 'exercises', 'size'):
        before = len(ch.failures)
        getattr(ch, check)()
        print(f"{'ok  ' if len(ch.failures) == before else 'FAIL'} {check}")
    for f in ch.failures: print(f)
    print(f'notebook checks: {len(ch.failures)} problem(s) in {len(ch.nbs)} notebooks')
    sys.exit(1 if ch.failures else 0)

if __name__ == '__main__': main()
