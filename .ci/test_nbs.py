"""Run every notebook (or those whose names contain an argument) the way `nbdev_test` does (same skip flags, 2 workers);
print per-notebook times and an `N passed, M failed` line (after `LABEL: ` with `--label LABEL`)."""
import os, sys, tempfile, time
from pathlib import Path
from fastcore.parallel import parallel
from nbdev.config import get_config
from nbdev.test import test_nb

FIRST = ('07_zero_shot', '06b_train_loop', '06_train_flickr', '00_prologue', '05_infonce_model', 'A11_loss_at_scale', '04_text_encoder', '05_infonce')

def main():
    args, label = sys.argv[1:], ''
    if '--label' in args: i = args.index('--label'); label = args[i + 1] + ': '; del args[i:i + 2]
    cfg = get_config()
    files = sorted(p.absolute() for p in cfg.nbs_path.glob('*.ipynb') if not p.name.startswith('_'))
    if args: files = [f for f in files if any(a in f.name for a in args)]
    # Longest first, so the two workers finish together; 07 before 06b, so that 07 trains the shared shapes run
    # (shared_run, under a lock) while 06b works through its first sections, and 06b then reads it.
    files.sort(key=lambda f: next((i for i, n in enumerate(FIRST) if f.name.startswith(n)), len(FIRST)))
    scratch = lambda: set(Path(tempfile.gettempdir()).glob('clip_nbdev_*'))   # the notebooks' scratch folders
    before, t0 = scratch(), time.time()
    os.chdir(cfg.nbs_path)
    res = parallel(test_nb, files, skip_flags=cfg.tst_flags.split(), force_flags=[], n_workers=min(2, len(files)),
                   basepath=cfg.config_path, pause=0.5, do_print=False)
    for f, (ok, t) in zip(files, res): print(f"{'ok  ' if ok else 'FAIL'} {f.name:32s} {t:6.1f} s")
    n_ok = sum(ok for ok, _ in res)
    print(f"wall time {time.time()-t0:.0f} s")
    left = sorted(p.name for p in scratch() - before) if n_ok == len(files) else []   # a failed notebook stops before its clean-up
    if left: print(f"FAIL scratch folders left in {tempfile.gettempdir()} by notebooks that passed: {left}")
    print(f"{label}{n_ok} passed, {len(files)-n_ok} failed")
    sys.exit(0 if n_ok == len(files) and not left else 1)

if __name__ == '__main__': main()
