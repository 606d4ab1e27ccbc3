"""Checks of the package's module structure; prints the import graph.

Usage (from the repo root):  python .ci/module_checks.py [--graph]

Fails (exit 1) when
  cycle     a module imports a module that imports it back, directly or through others; imports inside functions count
            (they only hide a cycle), the lazy lookups of `clip_nbdev.moved.moved_names` (the deprecation path) do not;
  private   a module imports another module's private name (`from .data import _helper`): make it public or move it;
  generic   a module exports a name so generic that it says nothing at the call site or shadows a common function
            (`warn`, `main`, `run` … see GENERIC): name what it does;
  forward   a main-path module imports, when it is imported, a later chapter's module or an appendix's; or code a main-path
            notebook exports, or a main-path notebook's cells, import one at all (chapter order: MAIN_PATH; a notebook may
            import its own module). Imports are attributed to the notebook cell that exported them (nbdev's `# %%`
            markers): an appendix that extends a chapter's module may import an appendix module only inside a function,
            so importing the chapter's module never loads it. `moved` (the deprecation path, ANYWHERE) is allowed
            everywhere. TOURS are read before the chapters and use the finished package (like the landing page);
            PENDING lists imports still to move.
Every run first checks itself on a temporary copy of the project with a forward import added, which must fail.
With --graph it prints one line per module: the clip_nbdev modules it imports, and from which notebook it is exported.
"""
import ast, json, re, shutil, sys, tempfile
from pathlib import Path

GENERIC = {'warn', 'log', 'info', 'debug', 'error', 'print', 'open', 'input', 'main', 'run', 'load', 'save', 'show', 'plot',
           'get', 'process', 'helper', 'util', 'utils', 'go', 'do'}

def function_lines(tree) -> set:
    "Lines inside a function body: imports there run when the function is called, not when the module is imported."
    return {l for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in f.body for l in range(n.lineno, (n.end_lineno or n.lineno) + 1)}

def package_imports(tree, pkg):
    "(module imported, names, line) for every import of a sibling module in `tree`, at any depth."
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1: target = mod.split('.')[0] if mod else None
            elif mod.startswith(f'{pkg}.'): target = mod.split('.')[1]
            elif mod == pkg: target = None
            else: continue
            if target is None:          # `from . import x` / `from clip_nbdev import x`: the names are modules
                for a in node.names: yield a.name, [], node.lineno
            else: yield target, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(f'{pkg}.'): yield a.name.split('.')[1], [], node.lineno

MAIN_PATH = ['00_prologue', '00_patches', '01_attention', '02_resnet', '03_vit', '04_text_encoder', '05_infonce',
             '05_infonce_model', '06_train_flickr', '06b_train_loop', '06c_emoji', '07_zero_shot']   # the course's order
TOURS = {'00_prologue': 'a one-page CLIP read before chapter 00: it writes its own model, loss and loop, and takes its data '
                        "and its chance from the finished package (it says so)"}
ANYWHERE = {'moved'}      # old names' deprecation path: a module's `__getattr__` pointing at where a name went
PENDING = {               # (importer: module name or notebook stem, imported module): still to be moved forwards
}

def notebook_imports(nb_path, pkg):
    "(module, cell id) for every `from pkg.X import` / `import pkg.X` in a notebook's code cells (strings included)."
    pattern = re.compile(rf'(?:from\s+{pkg}\.(\w+)\s+import|import\s+{pkg}\.(\w+))')
    for cell in json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']:
        if cell['cell_type'] != 'code': continue
        for m in pattern.finditer(''.join(cell['source'])): yield m.group(1) or m.group(2), cell.get('id', '?')

def cell_sources(text:str) -> list:
    "(first line, notebook stem) of every exported cell, from nbdev's `# %% ../nbs/NAME.ipynb #id` markers."
    return [(i, m.group(1)) for i, l in enumerate(text.splitlines(), 1) if (m := re.match(r'# %% \.\./nbs/(.+?)\.ipynb', l))]

def forward_imports(imports:dict, sources:dict, nbs_dir:Path, pkg:str) -> tuple:
    "(problems, pending used): main-path modules and notebooks importing a later chapter's or an appendix's module."
    chapter = {m: Path(src).stem for m, src in sources.items()}          # module → the notebook it is exported from
    rank = {nb: i for i, nb in enumerate(MAIN_PATH)}
    def bad(importer_rank, own, target) -> str|None:
        if target == own or target in ANYWHERE or target not in chapter: return None
        t = chapter[target]
        if t not in rank: return f'appendix module {target} ({t})'
        if rank[t] > importer_rank: return f'later chapter module {target} ({t})'
    problems, used = [], set()
    for m, found in imports.items():
        if chapter.get(m) not in rank: continue
        for t, line, lazy, nb in found:
            if not lazy: why, where = bad(rank[chapter[m]], m, t), 'when it is imported'
            elif nb in rank: why, where = bad(rank[nb], m, t), f'in code exported from {nb}'
            else: why = None                                             # an appendix's function: loaded on first call
            if why and (m, t) in PENDING: used.add((m, t))
            elif why: problems.append(f'forward  {m}.py:{line} ({chapter[m]}) imports {why} {where}')
    own_module = {nb: m for m, nb in chapter.items()}
    for nb in MAIN_PATH:
        path = nbs_dir/f'{nb}.ipynb'
        if not path.exists() or nb in TOURS: continue
        for t, cid in notebook_imports(path, pkg):
            why = bad(rank[nb], own_module.get(nb), t)
            if why and (nb, t) in PENDING: used.add((nb, t))
            elif why: problems.append(f'forward  {nb}.ipynb cell {cid} imports {why}')
    return problems, used

def self_test(root:Path, pkg:str):
    "On a copy of the project, a forward import in a module and in a notebook must each be reported."
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(root/pkg, tmp/pkg, ignore=shutil.ignore_patterns('assets', '__pycache__'))
        shutil.copytree(root/'nbs', tmp/'nbs', ignore=lambda d, names: [n for n in names if not n.endswith('.ipynb')])
        with open(tmp/pkg/'patches.py', 'a') as f: f.write('\nfrom .train import TrainConfig\n')
        with open(tmp/pkg/'text.py', 'a') as f:           # an appendix extending a chapter's module: lazily only
            f.write('\n# %% ../nbs/A14_fast_tokenizer.ipynb #t1\nfrom .webdata import ShardLoader\n'
                    '\n# %% ../nbs/A14_fast_tokenizer.ipynb #t2\ndef f():\n    from .cli import train_main\n')
        nb = json.loads((tmp/'nbs'/'02_resnet.ipynb').read_text(encoding='utf-8'))
        nb['cells'].append({'cell_type': 'code', 'id': 'bad-import', 'metadata': {}, 'outputs': [], 'execution_count': None,
                            'source': ['from clip_nbdev.inference import predict_main']})
        (tmp/'nbs'/'02_resnet.ipynb').write_text(json.dumps(nb), encoding='utf-8')
        problems = check(tmp, quiet=True)
    found = [p for p in problems if p.startswith('forward')]
    assert any('patches.py' in p and 'train' in p for p in found), f'self-test: a forward module import went unreported: {problems}'
    assert any('bad-import' in p and 'appendix module inference' in p for p in found), f'self-test: a notebook import went unreported: {problems}'
    assert any('text.py' in p and 'webdata' in p and 'when it is imported' in p for p in found), \
        f'self-test: an appendix cell importing an appendix module at module level went unreported: {problems}'
    assert not any('text.py' in p and 'cli' in p for p in found), f'self-test: a lazy import in an appendix function was reported: {problems}'

def exported(tree):
    "The module's `__all__`, if it sets one."
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []

def check(root:Path, argv=(), quiet=False) -> list:
    "Every problem found in the project at `root` (prints the graph with --graph)."
    pkg_dir = next(p.parent for p in root.glob('*/__init__.py') if (p.parent/'_modidx.py').exists())
    pkg = pkg_dir.name
    mods = {p.stem: p for p in sorted(pkg_dir.glob('*.py')) if p.stem not in ('__init__', '_modidx')}
    edges, imports, problems, sources = {}, {}, [], {}
    for name, path in mods.items():
        text = path.read_text()
        tree = ast.parse(text)
        first = next((l for l in text.splitlines() if l.startswith('# AUTOGENERATED!')), '')
        sources[name] = first.rsplit('/', 1)[-1].rstrip('.').strip() if '/' in first else '?'
        edges[name], imports[name] = set(), []
        lazy_lines, cells = function_lines(tree), cell_sources(text)
        for target, names, line in package_imports(tree, pkg):
            if target not in mods: continue
            if target != name:
                edges[name].add(target)
                nb = next((stem for first, stem in reversed(cells) if first <= line), Path(sources[name]).stem)
                imports[name].append((target, line, line in lazy_lines, nb))
            for n in names:
                if n.startswith('_') and not n.startswith('__'):
                    problems.append(f'private  {name}.py:{line} imports {target}.{n}, a private name of another module')
        for n in exported(tree):
            if n in GENERIC: problems.append(f'generic  {name}.py exports {n!r}: a name that says what it does reads better at the call site')
    # cycles: depth-first search over the graph
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 'open':
                cyc = stack[stack.index(t):] + [t]
                problems.append('cycle    ' + ' → '.join(cyc))
            elif t not in state: visit(t)
        stack.pop(); state[m] = 'done'
    for m in sorted(edges):
        if m not in state: visit(m)
    if '--graph' in argv:
        order = sorted(mods, key=lambda m: (sources.get(m, ''), m))
        for m in order: print(f"{m:<12} ({sources.get(m, '?')}) imports: {', '.join(sorted(edges[m])) or '—'}")
    forward, used = forward_imports(imports, sources, root/'nbs', pkg)
    problems += forward
    if not quiet:
        for p in sorted(used): print(f'pending  {p[0]} imports {p[1]}: {PENDING[p]}')
        for p in sorted(set(PENDING) - used): print(f'note     PENDING entry {p} is no longer needed: remove it')
        print(f'module checks: {len(problems)} problem(s) in {len(mods)} modules; {len(used)} pending forward import(s)')
    return problems

def main(argv):
    root = Path(__file__).resolve().parents[1]
    pkg = next(p.parent for p in root.glob('*/__init__.py') if (p.parent/'_modidx.py').exists()).name
    self_test(root, pkg)
    problems = check(root, argv)
    for p in problems: print('FAIL', p)
    return 1 if problems else 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
