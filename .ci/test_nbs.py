"""Run every notebook (or those whose names contain an argument) the way `nbdev_test` does (same skip flags, 2 workers);
print per-notebook times and an `N passed, M failed` line (after `LABEL: ` with `--label LABEL`)."""
import os, sys, time
from pathlib import Path
from fastcore.parallel import parallel
from nbdev.config import get_config
from nbdev.test import test_nb

def main():
    args, label = sys.argv[1:], ''
    if '--label' in args: i = args.index('--label'); label = args[i + 1] + ': '; del args[i:i + 2]
    cfg = get_config()
    files = sorted(p.absolute() for p in cfg.nbs_path.glob('*.ipynb') if not p.name.startswith('_'))
    if args: files = [f for f in files if any(a in f.name for a in args)]
    t0 = time.time()
    os.chdir(cfg.nbs_path)
    res = parallel(test_nb, files, skip_flags=cfg.tst_flags.split(), force_flags=[], n_workers=min(2, len(files)),
                   basepath=cfg.config_path, pause=0.5, do_print=False)
    for f, (ok, t) in zip(files, res): print(f"{'ok  ' if ok else 'FAIL'} {f.name:32s} {t:6.1f} s")
    n_ok = sum(ok for ok, _ in res)
    print(f"wall time {time.time()-t0:.0f} s")
    print(f"{label}{n_ok} passed, {len(files)-n_ok} failed")
    sys.exit(0 if n_ok == len(files) else 1)

if __name__ == '__main__': main()
