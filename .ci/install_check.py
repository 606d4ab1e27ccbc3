"""Does each chapter's Colab install cell install what the chapter imports?

For every chapter (nbs/NN*.ipynb and the appendices nbs/A*.ipynb) this reads the `! [ -e /content ] && pip install …` lines of its install cell, replaces the
git URL with this checkout, and runs them in a fresh virtual environment that holds only torch/torchvision first (Colab
ships those; here they are hard-linked from this interpreter's install of the local wheels, see `link_installed`). Then, in that environment and outside the repository, it imports every
module the chapter's executed cells import (every `import`/`from … import` outside `#| eval: false` cells). A failure names
the chapter, the module and the error. Chapters whose install cells install the same thing share one environment.

Environments are cached under $CLIP_NBDEV_VENV_CACHE (default ~/.cache/clip_nbdev_ci), keyed by the install command and every
requirement line of settings.ini, so a cached one holds exactly what a fresh one would; only clip_nbdev itself is reinstalled.
CLIP_NBDEV_FRESH_VENV=1 builds them anew.
Usage: python .ci/install_check.py [--root DIR] [chapter-substring ...]
"""
import ast, hashlib, json, os, re, shlex, shutil, subprocess, sys, tempfile, time
from configparser import ConfigParser
from pathlib import Path

TORCH = ['torch==2.14.1', 'torchvision==0.29.1']      # what Colab provides before the install cell runs (capped as in settings.ini)

def src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def install_commands(nb) -> list:
    "The shell commands of the chapter's Colab install cell, without the `[ -e /content ] &&` guard."
    cells = [c for c in nb['cells'] if c['cell_type'] == 'code' and '[ -e /content ]' in src(c)]
    if len(cells) != 1: raise ValueError(f'expected one Colab install cell, found {len(cells)}')
    return [re.sub(r'^!\s*\[ -e /content \]\s*&&\s*', '', l.strip()) for l in src(cells[0]).splitlines() if l.strip().startswith('!')]

def imported_modules(nb) -> dict:
    "{module: first cell index} for every absolute import in cells that run (not `#| eval: false`)."
    mods = {}
    for i, c in enumerate(nb['cells']):
        s = src(c)
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*eval\s*:\s*false', s, re.M): continue
        s = '\n'.join(l for l in s.splitlines() if not l.lstrip().startswith(('!', '%')))
        for n in ast.walk(ast.parse(s)):
            if isinstance(n, ast.Import): names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module: names = [n.module]
            else: continue
            for m in names:
                if m != '__future__': mods.setdefault(m, i)
    return mods

def pip_args(cmds, git_url, checkout) -> list:
    "pip arguments of the install cell, the project's git URL pointing at `checkout` instead."
    args = []
    for cmd in cmds:
        words = shlex.split(cmd)
        if words[:2] in (['pip', 'install'], ['pip3', 'install']) or words[:4] == ['python', '-m', 'pip', 'install']:
            rest = words[words.index('install') + 1:]
            args += [w.replace(f'git+{git_url}.git', checkout.as_uri()).replace(f'git+{git_url}', checkout.as_uri()) for w in rest]
    return args

def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode: raise RuntimeError(f"`{' '.join(map(str, cmd))}` failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r.stdout

def link_installed(pins:list, venv:Path) -> int:
    """Give `venv` the distributions `pins` name (`name==version`) and everything they require, as this interpreter has them
    installed, by hard-linking their files (dist-info included) into its site-packages: the same files `pip install` would
    unpack from the local wheels, in seconds instead of minutes (torch's CUDA build is 5 GB). pip in the venv sees them as
    installed and may replace them; a hard link it removes leaves this interpreter's copy untouched. Returns how many files
    were linked, or 0 (and links nothing) when a pin is not what is installed here or the cache is on another filesystem."""
    import importlib.metadata as md
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    dists, done, todo = {}, set(), [(p.split('==')[0], frozenset()) for p in pins]
    while todo:                                                         # the requirement closure, extras followed
        name, extras = todo.pop()
        try: d = md.distribution(name)
        except md.PackageNotFoundError: return 0
        key = d.metadata['Name'].lower().replace('_', '-')
        if (key, extras) in done: continue
        done.add((key, extras)); dists[key] = d
        for r in d.requires or []:
            req = Requirement(r)
            if req.marker is None or any(req.marker.evaluate({'extra': e}) for e in extras | {''}):
                todo.append((req.name, frozenset(req.extras)))
    for p in pins:                                                      # '==2.14.1' admits 2.14.1+cu130, as pip's does
        name, version = p.split('==')
        if dists[name.lower()].version not in SpecifierSet(f'=={version}'): return 0
    site = Path(run([str(venv/'bin'/'python'), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).strip())
    present = {p.name.split('-')[0].lower().replace('_', '-') for p in site.glob('*.dist-info')}   # the venv's own pip, setuptools
    pairs = []
    for key, d in dists.items():
        if key in present: continue
        base = Path(d.locate_file(''))
        for f in d.files or []:
            src = Path(d.locate_file(f))
            if '..' in f.parts or not src.is_file(): continue          # console scripts live outside site-packages
            pairs.append((src, site/src.relative_to(base)))
    made = []
    try:
        for src, dst in pairs:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst); made.append(dst)
    except OSError as e:                                                # e.g. the cache on another filesystem
        print(f'hard links failed ({e}); installing torch with pip')
        for dst in made: dst.unlink()
        for d in sorted({p for dst in made for p in dst.parents if site in p.parents}, key=lambda p: -len(p.parts)):
            if d.exists() and not any(d.iterdir()): d.rmdir()
        return 0
    return len(pairs)

IMPORT_PROBE = r"""
import importlib, json, sys, warnings
warnings.simplefilter('ignore')
bad = {}
for m in json.loads(sys.argv[1]):
    try: importlib.import_module(m)
    except BaseException as e: bad[m] = f'{type(e).__name__}: {e}'[:300]
import clip_nbdev
print(json.dumps({'bad': bad, 'clip_nbdev': clip_nbdev.__file__}))
"""

def main():
    args = [a for a in sys.argv[1:]]
    root = Path(args.pop(args.index('--root') + 1)).resolve() if '--root' in args else Path(__file__).resolve().parent.parent
    if '--root' in args: args.remove('--root')
    cfg = ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini'); cfg = cfg['DEFAULT']
    git_url = cfg['git_url']
    chapters = sorted(p for p in (root/cfg.get('nbs_path', 'nbs')).glob('[0-9A-Z]*.ipynb') if not args or any(a in p.name for a in args))
    t0, failures = time.time(), []
    with tempfile.TemporaryDirectory(prefix='clip_nbdev_install_') as tmp:
        tmp = Path(tmp)
        # install from a copy of the checkout's files, so building the package writes nothing into the repository
        checkout = tmp/'clip_nbdev'
        files = run(['git', '-C', str(root), 'ls-files', '-co', '--exclude-standard']).split('\n')
        for f in filter(None, files):
            if (root/f).is_file(): (checkout/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(root/f, checkout/f)
        groups = {}
        for p in chapters:
            nb = json.loads(p.read_text())
            try: cmds = install_commands(nb)
            except ValueError as e: failures.append(f'FAIL {p.name}: {e}'); continue
            apt = [c for c in cmds if 'apt-get' in c and ' install' in c]
            for c in apt:
                pkgs = [w for w in shlex.split(c.split(' install', 1)[1].split('>')[0]) if not w.startswith('-')]
                missing = [k for k in pkgs if subprocess.run(['dpkg', '-s', k], capture_output=True).returncode]
                if missing: failures.append(f'FAIL {p.name}: its install cell apt-installs {missing}, which this machine lacks (.ci/run installs them)')
            groups.setdefault(tuple(pip_args(cmds, git_url, checkout)), []).append((p, imported_modules(nb)))
        cache = Path(os.environ.get('CLIP_NBDEV_VENV_CACHE', Path.home()/'.cache'/'clip_nbdev_ci'))
        reqs = '\n'.join(f'{k}={cfg.get(k, "")}' for k in ('requirements', 'nb_requirements', 'dev_requirements', 'min_python'))
        for pargs, members in groups.items():
            names = ', '.join(p.stem for p, _ in members)
            if not pargs: failures += [f'FAIL {p.name}: its install cell runs no pip install' for p, _ in members]; continue
            key_text = json.dumps([[a.replace(checkout.as_uri(), 'CHECKOUT') for a in pargs], reqs, TORCH, sys.version.split()[0]])
            venv = cache/f'venv-{hashlib.sha256(key_text.encode()).hexdigest()[:16]}'
            py = venv/'bin'/'python'
            t1 = time.time()
            fresh = os.environ.get('CLIP_NBDEV_FRESH_VENV') == '1' or not (venv/'.complete').exists()
            env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PIP_REQUIRE_VIRTUALENV', 'VIRTUAL_ENV')}
            env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
            if fresh:
                shutil.rmtree(venv, ignore_errors=True); venv.parent.mkdir(parents=True, exist_ok=True)
                run([sys.executable, '-m', 'venv', str(venv)])
                linked = link_installed(TORCH, venv)
                if linked: print(f"torch, torchvision and their requirements: {linked} files hard-linked from this interpreter's install")
                run([str(py), '-m', 'pip', 'install', '-q', *TORCH], env=env)       # installs what linking left out, if anything
                run([str(py), '-m', 'pip', 'install', *pargs], env=env, cwd=tmp)
                (venv/'.complete').write_text(key_text)
            else:   # the same requirements: only clip_nbdev itself can have changed
                run([str(py), '-m', 'pip', 'install', '-q', '--no-deps', '--force-reinstall', *pargs], env=env, cwd=tmp)
            size = sum(f.stat().st_size for f in venv.rglob('*') if f.is_file() and not f.is_symlink()) / 2**30
            print(f"env for {names}: pip install {' '.join(a.replace(checkout.as_uri(), '<checkout>') for a in pargs)}  "
                  f"({'built' if fresh else 'cached, clip_nbdev reinstalled'} in {time.time() - t1:.0f} s, {size:.1f} GB)")
            every = sorted(set().union(*(mods for _, mods in members)))       # one interpreter imports them all
            out = run([str(py), '-c', IMPORT_PROBE, json.dumps(every)], env=env, cwd=tmp)
            res = json.loads(out.strip().splitlines()[-1])
            if not res['clip_nbdev'].startswith(str(venv)): failures.append(f'FAIL {names}: imported clip_nbdev from {res["clip_nbdev"]}, not the environment')
            for p, mods in members:
                bad = {m: e for m, e in res['bad'].items() if m in mods}
                for m, err in sorted(bad.items()):
                    failures.append(f'FAIL {p.name}: cell {mods[m]} imports {m}, which its install cell does not provide ({err})')
                print(f"{'ok  ' if not bad else 'FAIL'} {p.name:28s} {len(mods):3d} modules imported")
    for f in failures: print(f)
    print(f'install check: {len(chapters)} chapters, {len(failures)} problem(s), {time.time() - t0:.0f} s')
    sys.exit(1 if failures else 0)

if __name__ == '__main__': main()
