"""Check the docs site that `nbdev_docs` rendered with Quarto, page by page, in headless Chromium.

Every page of `_docs` is opened twice: 1400 px wide for a light-theme reader and 390 px wide (a phone) for a reader
whose system prefers dark. On each it checks what a reader would see wrong:
  overflow   the page is no wider than the screen, and no code block or output block scrolls sideways
             (a table may scroll inside its own box); the element that sticks out is named
  links      every link into the site (relative, or to the site's own address) reaches a page that exists and,
             with a `#anchor`, an element of that page with that id; every local image loads
  api        no API entry (a heading followed by its signature) appears twice on a page; no signature shows a
             backtick, a Markdown link `](`, `NoneType` (an unannotated `x=None`) or nn.Module's (*args, **kwargs);
             no docstring reads "Call self as a function."
  navigation the sidebar lists every page; previous/next follow the sidebar's order
  theme      the light reader gets the light theme and the dark reader the dark one, inline code included
  content    no page shows a traceback; every chapter page (a notebook named NN_*) shows a figure;
             no badge or linked image renders as a captioned figure
Usage: python .ci/site_check.py [--docs _docs] [--screenshots DIR [PAGE.html ...]]
Chromium is driven over its DevTools protocol (websocket-client); external hosts are unreachable by design
(--host-resolver-rules), so the check runs offline and says nothing about CDNs or the Colab badge image.
"""
import functools, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time, base64
from pathlib import Path
from urllib.parse import urlsplit, unquote
from urllib.request import urlopen
import websocket   # websocket-client
from nbdev.doclinks import _nbpath2html

SITE = 'https://clip-nbdev.github.io/clip_nbdev/'      # the deployed address: links to it are internal
PASSES = [(1400, 900, 'light'), (390, 844, 'dark')]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--remote-allow-origins=*',
         '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--remote-debugging-port=0']

# Runs in the page after load; returns what the checks need, measured by the browser.
PROBE = r"""(() => {
const vw = document.documentElement.clientWidth, main = document.querySelector('main') || document.body;
const txt = el => (el.textContent || '').trim().replace(/\s+/g, ' ');
const name = el => {
  let s = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
          [...el.classList].filter(c => !/^(sourceCode|code-with-copy)$/.test(c)).slice(0, 2).map(c => '.' + c).join('');
  const sec = el.closest('section[id]');
  return `${s}${sec ? ' in section #' + sec.id : ''} "${txt(el).slice(0, 48)}"`;
};
const clipped = el => { for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement)
  if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
const shown = el => { const s = getComputedStyle(el); return s.display !== 'none' && s.visibility !== 'hidden'; };
const fixed = el => { for (let a = el; a && a !== document.body; a = a.parentElement)      // the navbar, the sidebar's glass:
  if (/fixed|sticky/.test(getComputedStyle(a).position)) return true; return false; };    // as wide as the page, not the cause
const r = {width: document.documentElement.scrollWidth, vw, sticking: [], scrolling: [], ids: [], links: [], images: 0,
           broken: [], entries: [], sigs: [], sidebar: [], prev: null, next: null, traceback: false, figbadges: []};
if (r.width > vw + 1)          // the outermost elements that reach past the screen's right edge, outside any scroll box
  for (const el of document.body.querySelectorAll('*')) {
    const b = el.getBoundingClientRect();
    if (b.width === 0 || b.right <= vw + 1 || !shown(el) || clipped(el) || fixed(el)) continue;
    if (el.parentElement.getBoundingClientRect().right <= vw + 1 || el.parentElement === document.body)
      r.sticking.push(`${name(el)} reaches ${Math.round(b.right + scrollX)} px`);
  }
const wide = [...main.querySelectorAll('pre, div.sourceCode, div[class*="cell-output"]')]
  .filter(el => shown(el) && el.scrollWidth > el.clientWidth + 1);
for (const el of wide)       // the outermost block that scrolls (a code block's <div>, not also its <pre>)
  if (!wide.some(o => o !== el && o.contains(el))) r.scrolling.push(`${name(el)}: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
for (const el of document.querySelectorAll('[id]')) r.ids.push(el.id);
for (const a of document.querySelectorAll('a[href]')) {
  const h = a.getAttribute('href');
  if (/^(mailto|javascript):/.test(h)) continue;
  if (a.href.startsWith(location.origin) || a.href.startsWith(%SITE%)) r.links.push([a.href, txt(a).slice(0, 40)]);
}
for (const img of main.querySelectorAll('img')) {
  if (/^https?:/.test(img.getAttribute('src') || '') && !img.src.startsWith(location.origin)) continue;
  r.images++;
  if (!img.complete || img.naturalWidth === 0) r.broken.push((img.getAttribute('src') || '').slice(0, 60));
}
for (const sig of main.querySelectorAll('div.sourceCode')) {     // show_doc: a heading, then the signature block
  if (sig.closest('.cell')) continue;
  const h = sig.previousElementSibling;
  if (!h || !/^H[2-6]$/.test(h.tagName)) continue;
  r.entries.push(txt(h));
  const doc = sig.nextElementSibling;
  r.sigs.push([txt(h), sig.textContent, doc ? txt(doc) : '']);
}
for (const a of document.querySelectorAll('#quarto-sidebar a.sidebar-link[href]')) r.sidebar.push(a.href);
const pn = sel => { const a = document.querySelector(sel); return a ? a.href : null; };
r.prev = pn('.nav-page-previous a[href]'); r.next = pn('.nav-page-next a[href]');
r.traceback = /Traceback \(most recent call last\)/.test(main.textContent);
r.stderr = [...main.querySelectorAll('.cell-output-stderr')].map(txt).filter(t => /Error|Exception/.test(t)).map(t => t.slice(0, 80));
for (const f of main.querySelectorAll('figure, .quarto-figure'))
  if (f.querySelector('a img') && f.querySelector('figcaption') && txt(f.querySelector('figcaption')))
    r.figbadges.push(name(f));
const lum = c => { const m = c.match(/[\d.]+/g).map(Number); if (m.length > 3 && m[3] === 0) return null;
  const [R, G, B] = m.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * R + 0.7152 * G + 0.0722 * B; };
const bs = getComputedStyle(document.body);
r.theme = {darkClass: document.body.classList.contains('quarto-dark'), bg: lum(bs.backgroundColor), fg: lum(bs.color)};
const code = [...main.querySelectorAll('p code, li code')].find(c => !c.closest('pre') && !c.closest('a'));
if (code) { const cs = getComputedStyle(code); r.theme.code = {bg: lum(cs.backgroundColor), fg: lum(cs.color), text: txt(code).slice(0, 30)}; }
return JSON.stringify(r);
})()""".replace('%SITE%', json.dumps(SITE))

class Browser:
    "Headless Chromium over the DevTools protocol: one tab, commands in order, events buffered."
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix='clip_nbdev_chromium_')
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f'--user-data-dir={self.profile}', 'about:blank'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, t0 = Path(self.profile)/'DevToolsActivePort', time.time()
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.time() - t0 > 30 or self.proc.poll() is not None: sys.exit('site check: Chromium did not start')
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page = [t for t in json.load(urlopen(f'http://127.0.0.1:{port}/json/list')) if t['type'] == 'page'][0]
        self.ws = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=60, suppress_origin=True)
        self.n = 0
        self.events = []
        self.send('Page.enable')

    def send(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == self.n:
                if 'error' in msg: raise RuntimeError(f'{method}: {msg["error"]}')
                return msg.get('result', {})
            if 'method' in msg: self.events.append(msg['method'])

    def wait_for(self, event, timeout=60):
        t0 = time.time()
        while event not in self.events:
            if time.time() - t0 > timeout: raise TimeoutError(event)
            msg = json.loads(self.ws.recv())
            if 'method' in msg: self.events.append(msg['method'])

    def emulate(self, width, height, scheme):
        self.send('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1, mobile=width < 600)
        self.send('Emulation.setEmulatedMedia', features=[{'name': 'prefers-color-scheme', 'value': scheme}])

    def open(self, url):
        self.events.clear()
        self.send('Page.navigate', url=url)
        self.wait_for('Page.loadEventFired')
        self.send('Runtime.evaluate', expression='new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))',
                  awaitPromise=True)
        return json.loads(self.send('Runtime.evaluate', expression=PROBE, returnByValue=True)['result']['value'])

    def screenshot(self, path, max_height=5000):
        h = self.send('Runtime.evaluate', expression='document.documentElement.scrollHeight', returnByValue=True)['result']['value']
        w = self.send('Runtime.evaluate', expression='document.documentElement.clientWidth', returnByValue=True)['result']['value']
        shot = self.send('Page.captureScreenshot', format='png', captureBeyondViewport=True,
                         clip={'x': 0, 'y': 0, 'width': w, 'height': min(h, max_height), 'scale': 1})
        Path(path).write_bytes(base64.b64decode(shot['data']))

    def close(self):
        try: self.ws.close()
        finally:
            self.proc.terminate()
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)

def serve(root:Path):
    "A local web server for the rendered site (as the deployed site is served), in a thread."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(root))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'

def chapter_pages(nbs:Path) -> set:
    "Pages of the chapters (notebooks named NN_*), which must show at least one figure."
    return {_nbpath2html(p).name for p in nbs.glob('[0-9][0-9]*_*.ipynb')}

def page_of(url:str, base:str) -> tuple:
    "(page path relative to the site, anchor) of an internal URL."
    for root in (base, SITE):
        if url.startswith(root):
            u = urlsplit(url[len(root) - 1:])
            path = unquote(u.path).lstrip('/') or 'index.html'
            if path.endswith('/'): path += 'index.html'
            return path, unquote(u.fragment)
    raise ValueError(url)

def api_problems(sigs) -> list:
    out = []
    for entry, sig, doc in sigs:
        if '`' in sig: out.append(f'{entry}: a backtick in its signature: {next(l for l in sig.splitlines() if "`" in l).strip()[:80]!r}')
        if '](' in sig: out.append(f'{entry}: a Markdown link in its signature: {next(l for l in sig.splitlines() if "](" in l).strip()[:80]!r}')
        if 'NoneType' in sig: out.append(f'{entry}: NoneType in its signature (annotate the parameter): '
                                         f'{next(l for l in sig.splitlines() if "NoneType" in l).strip()[:80]!r}')
        if re.search(r'\*args:Any,\s*\*\*kwargs:Any', sig) and sig.lstrip().startswith('class'):
            out.append(f"{entry}: documented as (*args, **kwargs), nn.Module's signature")
        if 'Call self as a function' in doc: out.append(f'{entry}: documented as "Call self as a function." (no docstring)')
    return out

def main():
    args = sys.argv[1:]
    docs = Path(args[args.index('--docs') + 1]) if '--docs' in args else Path('_docs')
    shots = Path(args[args.index('--screenshots') + 1]) if '--screenshots' in args else None
    shot_pages = [a for a in args if a.endswith('.html')]
    if not CHROMIUM: sys.exit('site check: chromium not found (Debian package `chromium`)')
    pages = sorted(str(p.relative_to(docs)) for p in docs.glob('*.html'))
    if not pages: sys.exit(f'site check: no pages in {docs}/ (run nbdev_docs first)')
    t0, problems = time.time(), []
    fail = lambda page, what: problems.append(f'FAIL {page}: {what}')
    srv, base = serve(docs)
    browser = Browser()
    seen = {}      # page -> probe result of the first pass
    try:
        for width, height, scheme in PASSES:
            browser.emulate(width, height, scheme)
            if shots: shots.mkdir(parents=True, exist_ok=True)
            for page in pages:
                r = browser.open(base + page)
                at = f'{width} px'
                if r['width'] > r['vw'] + 1:
                    fail(page, f"at {at} the page is {r['width']} px wide: " + ('; '.join(r['sticking'][:4]) or 'no single element named'))
                for s in r['scrolling'][:6]: fail(page, f'at {at} scrolls sideways: {s}')
                if len(r['scrolling']) > 6: fail(page, f"at {at} {len(r['scrolling']) - 6} more blocks scroll sideways")
                t = r['theme']
                if scheme == 'dark':
                    if not t['darkClass'] or t['bg'] is None or t['bg'] > 0.1:
                        fail(page, f"a reader whose system prefers dark gets the light theme (body luminance {t['bg']})")
                    elif t.get('code') and ((t['code']['bg'] is not None and t['code']['bg'] > 0.2) or t['code']['fg'] < 0.3):
                        fail(page, f"in the dark theme inline code `{t['code']['text']}` is a light pill "
                                   f"(background luminance {t['code']['bg']}, text {t['code']['fg']:.2f})")
                elif t['darkClass'] or (t['bg'] is not None and t['bg'] < 0.5):
                    fail(page, 'a reader whose system prefers light gets the dark theme')
                if shots and (not shot_pages or page in shot_pages):
                    browser.screenshot(shots/f"{page.removesuffix('.html')}_{width}.png")
                if page not in seen: seen[page] = r
        for page, r in seen.items():
            ids = set(r['ids'])
            for e in sorted({e for e in r['entries'] if r['entries'].count(e) > 1}):
                fail(page, f"API entry {e} appears {r['entries'].count(e)} times")
            for p in api_problems(r['sigs']): fail(page, p)
            for src in r['broken']: fail(page, f'image does not load: {src}')
            if r['traceback']: fail(page, 'shows a traceback')
            for e in r['stderr']: fail(page, f'shows an error on stderr: {e!r}')
            for f in r['figbadges']: fail(page, f'a linked image renders as a captioned figure: {f}')
            bad = {}
            for url, text in r['links']:
                target, anchor = page_of(url, base)
                if target.endswith('.html') and target in seen:
                    if anchor and anchor not in (ids if target == page else set(seen[target]['ids'])):
                        bad.setdefault(f'link "{text}" to {target}#{anchor}: no element has that id', 0)
                elif not (docs/target).exists():
                    bad.setdefault(f'link "{text}" to {target}: no such file in the site', 0)
            for b in bad: fail(page, b)
        readme = Path('README.md').read_text() if Path('README.md').exists() else ''
        for url in re.findall(r'\]\((https?://[^)\s]+)\)', readme):    # README.md and the site: the same pages
            if not url.startswith(SITE): continue
            target, anchor = page_of(url, base)
            if target not in seen: fail('README.md', f'link to {target}: no such page in the site')
            elif anchor and anchor not in seen[target]['ids']: fail('README.md', f'link to {target}#{anchor}: no element has that id')
        for nb in sorted(Path('nbs').glob('*.ipynb')):     # an error output fails even where the page hides it
            n = sum(o.get('output_type') == 'error' for c in json.loads(nb.read_text())['cells'] for o in c.get('outputs', []))
            if n: fail(nb.name, f'{n} saved error output(s)')
        chapters = chapter_pages(Path('nbs'))
        for page in sorted(chapters & set(seen)):
            if seen[page]['images'] == 0: fail(page, 'chapter page shows no figure')
        sidebar = [page_of(u, base)[0] for u in seen['index.html']['sidebar']]
        for nb in sorted(Path('nbs').glob('[!_]*.ipynb')):       # every notebook is a page, and in the sidebar
            if _nbpath2html(nb).name not in seen: fail(nb.name, f'no page {_nbpath2html(nb).name} in the site')
        for page in pages:
            if page not in sidebar and page != '404.html': fail(page, 'not in the sidebar')
        for i, page in enumerate(sidebar):
            if page not in seen: fail('index.html', f'sidebar entry {page}: no such page'); continue
            r = seen[page]
            want_prev = sidebar[i - 1] if i else None
            want_next = sidebar[i + 1] if i + 1 < len(sidebar) else None
            got_prev = page_of(r['prev'], base)[0] if r['prev'] else None
            got_next = page_of(r['next'], base)[0] if r['next'] else None
            if got_prev != want_prev: fail(page, f'"previous" leads to {got_prev}, the sidebar has {want_prev} before it')
            if got_next != want_next: fail(page, f'"next" leads to {got_next}, the sidebar has {want_next} after it')
    finally:
        browser.close(); srv.shutdown()
    for p in problems: print(p)
    n_bad = len({p.split(':')[0] for p in problems})
    print(f'site check: {len(pages)} pages at {" and ".join(f"{w} px ({s})" for w, _, s in PASSES)}, '
          f'{sum(len(r["links"]) for r in seen.values())} internal links, {sum(len(r["entries"]) for r in seen.values())} API entries: '
          f'{len(problems)} problem(s) on {n_bad} page(s), {time.time() - t0:.0f} s')
    sys.exit(1 if problems else 0)

if __name__ == '__main__': main()
