#!/usr/bin/env node
// Render Adaptive Card JSON files with Microsoft's `adaptivecards` renderer in a real (headless)
// Chromium, styled like Microsoft Teams, and measure what a reader would trip on.
//
// Usage:
//   node tests/render/render.mjs [options] CARD.json|DIR ...
// Options:
//   --host NAMES      teams-light, teams-dark, or both comma-separated   (default teams-light)
//   --width PXS       card width in CSS px, comma-separated list allowed (default 450)
//   --png DIR         save a PNG of each rendered card into DIR
//   --png-cards LIST  only save PNGs of these cards (comma-separated names, without .json)
//   --chromium PATH   browser executable (default: $NDRBOT_CHROMIUM, else `chromium` on PATH)
//
// Output: one JSON object per line on stdout. The first line is {"meta": {...}} (versions, host
// config files, fonts, timing); then one object per card x host x width:
//   {card, file, host, width, size_bytes, compact_bytes, file_bytes, height, errors: [...],
//    overflow: [{kind, text, px, tag}], truncated_buttons: [{text, px, ellipsis}],
//    low_contrast: [{text, color, background, ratio, large}]}
// The last line is {"done": {cards, renders, seconds}}. Exit status 0 unless the batch itself
// could not run (a card that fails to parse is reported in its own `errors`).
//
// One browser and one page serve the whole batch. Files are read from node_modules at run time:
// the renderer (adaptivecards/dist/adaptivecards.min.js) and the Teams host configs and CSS of
// the Adaptive Cards designer (adaptivecards-designer/lib/hostConfigs/microsoft-teams-*.json,
// adaptivecards-designer/dist/containers/teams-container-*.css).

import { readFileSync, statSync, readdirSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
const started = Date.now();

function pkgDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`));
}

const HOSTS = {
  'teams-light': {
    config: ['adaptivecards-designer', 'lib/hostConfigs/microsoft-teams-light.json'],
    css: ['adaptivecards-designer', 'dist/containers/teams-container-light.css'],
    page: '#F6F6F6', // the designer's Teams light chat background
  },
  'teams-dark': {
    config: ['adaptivecards-designer', 'lib/hostConfigs/microsoft-teams-dark.json'],
    css: ['adaptivecards-designer', 'dist/containers/teams-container-dark.css'],
    page: '#201E1F',
  },
};

function usage(msg) {
  process.stderr.write(`render.mjs: ${msg}\nusage: node render.mjs [--host teams-light,teams-dark] ` +
    `[--width 450,340] [--png DIR] [--png-cards a,b] [--chromium PATH] CARD.json|DIR ...\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { hosts: ['teams-light'], widths: [450], png: null, pngCards: null, chromium: null, inputs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--host' || a === '--hosts') opts.hosts = next().split(',').filter(Boolean);
    else if (a === '--width' || a === '--widths') opts.widths = next().split(',').filter(Boolean).map(Number);
    else if (a === '--png') opts.png = next();
    else if (a === '--png-cards') opts.pngCards = new Set(next().split(',').filter(Boolean));
    else if (a === '--chromium') opts.chromium = next();
    else if (a === '-h' || a === '--help') usage('help');
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else opts.inputs.push(a);
  }
  for (const h of opts.hosts) if (!HOSTS[h]) usage(`unknown host config ${h} (known: ${Object.keys(HOSTS).join(', ')})`);
  for (const w of opts.widths) if (!(w > 0)) usage('widths must be positive numbers');
  if (!opts.inputs.length) usage('no card files given');
  return opts;
}

function listCards(inputs) {
  const files = [];
  for (const inp of inputs) {
    if (statSync(inp).isDirectory()) {
      for (const f of readdirSync(inp).sort()) if (f.endsWith('.json')) files.push(path.join(inp, f));
    } else files.push(inp);
  }
  return files;
}

function findChromium(explicit) {
  if (explicit) return explicit;
  if (process.env.NDRBOT_CHROMIUM) return process.env.NDRBOT_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try { return execFileSync('which', [name], { encoding: 'utf8' }).trim(); } catch { /* next */ }
  }
  return '/usr/bin/chromium';
}

const opts = parseArgs(process.argv.slice(2));
const files = listCards(opts.inputs);
const chromiumPath = findChromium(opts.chromium);
const { chromium } = require('playwright-core');

const acDir = pkgDir('adaptivecards');
const designerDir = pkgDir('adaptivecards-designer');
const hostData = {};
for (const name of opts.hosts) {
  const h = HOSTS[name];
  const cfgPath = path.join(pkgDir(h.config[0]), h.config[1]);
  const cssPath = path.join(pkgDir(h.css[0]), h.css[1]);
  hostData[name] = {
    configPath: cfgPath, cssPath, page: h.page,
    config: JSON.parse(readFileSync(cfgPath, 'utf8')),
    css: readFileSync(cssPath, 'utf8'),
  };
}

// Segoe UI is what Teams uses; it is not on Linux. Liberation Sans (Arial's metrics) is far closer
// to its widths than the DejaVu Sans that fontconfig would pick, so alias it where installed.
const FONT_ALIAS = `
@font-face { font-family: 'Segoe UI'; font-weight: 100 549;
  src: local('Segoe UI'), local('SegoeUI'), local('Liberation Sans'), local('LiberationSans'), local('Arial'); }
@font-face { font-family: 'Segoe UI'; font-weight: 550 900;
  src: local('Segoe UI Semibold'), local('SegoeUI-Semibold'), local('Liberation Sans Bold'), local('LiberationSans-Bold'), local('Arial Bold'); }
`;

const GUTTER = 240; // px of empty page right of the card, so overflow shows in screenshots

const pageHtml = `<!doctype html><html><head><meta charset="utf-8">
<style>${FONT_ALIAS}
html, body { margin: 0; padding: 0; }
#stage { padding: 12px; width: max-content; }
#frame { border: 2px solid #F1F0EF; border-top-color: #ACCEEF; border-radius: 4px; }
#gutter { display: flex; }
#host { flex: 0 0 auto; }
</style>
${Object.entries(hostData).map(([n, h]) => `<style id="css-${n}" disabled>${h.css}</style>`).join('\n')}
</head><body><div id="stage"><div id="gutter"><div id="frame"><div id="host"></div></div><div id="pad"></div></div></div></body></html>`;

// ---- in-page code ---------------------------------------------------------------------------
// Runs inside the browser: render one card and measure it. Kept free of closures over Node state.
async function renderAndMeasure({ cardText, hostName, hostConfig, width, pageBg, gutter }) {
  const AC = window.AdaptiveCards;
  for (const s of document.querySelectorAll('style[id^="css-"]')) s.disabled = s.id !== `css-${hostName}`;
  document.body.style.background = pageBg;
  const hostEl = document.getElementById('host');
  const frame = document.getElementById('frame');
  hostEl.replaceChildren();
  hostEl.style.width = `${width}px`;
  document.getElementById('pad').style.width = `${gutter}px`;
  frame.style.borderColor = hostName.endsWith('dark') ? '#393738' : '#F1F0EF';

  const errors = [];
  let json;
  try { json = JSON.parse(cardText); } catch (e) { return { errors: [`invalid JSON: ${e.message}`] }; }
  const card = new AC.AdaptiveCard();
  card.hostConfig = new AC.HostConfig(hostConfig);
  const ctx = new AC.SerializationContext(AC.Versions.v1_5);
  try { card.parse(json, ctx); } catch (e) { errors.push(`parse threw: ${e.message}`); }
  const evName = (ev) => AC.ValidationEvent[ev] ?? String(ev);
  for (let i = 0; i < ctx.eventCount; i++) {
    const ev = ctx.getEventAt(i);
    errors.push(`parse ${evName(ev.event)}: ${ev.message}`);
  }
  try {
    const vr = card.validateProperties();
    for (const ev of vr.allIssues ?? []) errors.push(`validate ${evName(ev.event)}: ${ev.message}`);
  } catch (e) { errors.push(`validate threw: ${e.message}`); }
  let root;
  try { root = card.render(); } catch (e) { errors.push(`render threw: ${e.message}`); }
  if (!root) { errors.push('renderer produced no element'); return { errors }; }
  hostEl.appendChild(root);
  await document.fonts.ready;

  const cardRect = root.getBoundingClientRect();
  const cardRight = cardRect.right;
  const clip = (s) => { s = s.replace(/\s+/g, ' ').trim(); return s.length > 80 ? s.slice(0, 80) : s; };
  const r1 = (x) => Math.round(x * 10) / 10;
  const visible = (el) => (el.checkVisibility ? el.checkVisibility({ checkVisibilityCSS: true, checkOpacity: true }) : true);
  const ownText = (el) => {
    let t = '';
    for (const n of el.childNodes) if (n.nodeType === Node.TEXT_NODE) t += n.nodeValue;
    return t;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
    ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : '');
  const all = Array.from(root.querySelectorAll('*')).filter(visible);

  // Buttons (push buttons of actions): the title element is the div the renderer puts inside.
  const truncated_buttons = [];
  const buttonTitles = new Set();
  for (const btn of all.filter((e) => e.tagName === 'BUTTON' || e.getAttribute('role') === 'button')) {
    const title = Array.from(btn.querySelectorAll('div')).find((d) => d.textContent.trim()) || btn;
    buttonTitles.add(title);
    const cs = getComputedStyle(title);
    const over = Math.max(title.scrollWidth - title.clientWidth, 0);
    const overV = Math.max(title.scrollHeight - title.clientHeight, 0);
    // text-overflow only draws an ellipsis when the content is actually cut
    const ellipsis = over > 0 && cs.textOverflow === 'ellipsis' && cs.overflowX !== 'visible';
    const label = btn.getAttribute('aria-label') || title.textContent;
    if (over > 0 || overV > 2) truncated_buttons.push({ text: clip(label), px: r1(Math.max(over, overV)), ellipsis, dir: over > 0 ? 'x' : 'y' });
  }

  // Overflow: (a) text that extends beyond the card's right edge, measured on the text itself;
  // (b) boxes (images, inputs, buttons, styled containers) beyond that edge; (c) elements whose
  // content does not fit (scrollWidth > clientWidth) and that do not scroll on purpose.
  const overflow = [];
  const reported = new Set();
  const range = document.createRange();
  for (const el of all) {
    let right = -Infinity;
    for (const n of el.childNodes) {
      if (n.nodeType !== Node.TEXT_NODE || !n.nodeValue.trim()) continue;
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) if (r.width > 0) right = Math.max(right, r.right);
    }
    if (right > cardRight + 0.5 && !buttonTitles.has(el)) {
      overflow.push({ kind: 'text', text: clip(el.textContent), px: r1(right - cardRight), tag: describe(el) });
      reported.add(el);
    }
  }
  for (const el of all) {
    if (reported.has(el)) continue;
    const r = el.getBoundingClientRect();
    if (!(r.width > 0 && r.right > cardRight + 0.5)) continue;
    const cs = getComputedStyle(el);
    const boxy = ['IMG', 'INPUT', 'BUTTON', 'SELECT', 'TEXTAREA', 'SVG', 'VIDEO'].includes(el.tagName) ||
      cs.backgroundColor.replace(/\s/g, '') !== 'rgba(0,0,0,0)' || parseFloat(cs.borderRightWidth) > 0;
    if (!boxy) continue;
    if (Array.from(reported).some((x) => el.contains(x) || x.contains(el))) continue;
    overflow.push({ kind: 'box', text: clip(el.getAttribute('aria-label') || el.textContent), px: r1(r.right - cardRight), tag: describe(el) });
    reported.add(el);
  }
  for (const el of all.slice().reverse()) { // descendants before ancestors
    if (reported.has(el) || buttonTitles.has(el) || el === root) continue;
    const cs = getComputedStyle(el);
    if (cs.display.startsWith('inline') && cs.display !== 'inline-block' && cs.display !== 'inline-flex') continue;
    if (['auto', 'scroll'].includes(cs.overflowX)) continue; // scrolls on purpose
    const over = el.scrollWidth - el.clientWidth;
    if (!(el.clientWidth > 0 && over > 1)) continue;
    if (Array.from(reported).some((x) => el.contains(x))) continue; // the cause is already listed
    overflow.push({ kind: cs.overflowX === 'visible' ? 'spill' : 'clipped', text: clip(el.textContent), px: r1(over), tag: describe(el) });
    reported.add(el);
  }

  // Contrast (WCAG 2.x) of every text run against the background actually painted behind it.
  const parseColor = (s) => {
    const m = s.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const blend = (fg, bg) => ({
    r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a), a: 1,
  });
  const hex = (c) => '#' + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('') +
    (c.a < 1 ? Math.round(c.a * 255).toString(16).padStart(2, '0') : '');
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const pageColor = parseColor(getComputedStyle(document.body).backgroundColor);
  const effectiveBg = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parseColor(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = layers.length && layers[layers.length - 1].a >= 1 ? layers.pop() : { ...pageColor, a: 1 };
    while (layers.length) bg = blend(layers.pop(), bg);
    return bg;
  };
  const low_contrast = [];
  for (const el of all) {
    const t = ownText(el);
    if (!/[\p{L}\p{N}]/u.test(t)) continue; // empty, or only symbols such as ✖ ✔ ⚠ • ☐ ☑
    const cs = getComputedStyle(el);
    const fgRaw = parseColor(cs.color);
    if (!fgRaw) continue;
    const bg = effectiveBg(el);
    const fg = blend(fgRaw, bg);
    const ratio = contrast(fg, bg);
    if (ratio < 4.5) {
      const size = parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
      low_contrast.push({ text: clip(t), color: hex(fgRaw), background: hex(bg), ratio: Math.round(ratio * 100) / 100, large });
    }
  }

  const frameRect = frame.getBoundingClientRect();
  return {
    errors, overflow, truncated_buttons, low_contrast,
    height: Math.round(cardRect.height),
    card_width: r1(cardRect.width),
    shot: { x: 0, y: 0, width: Math.ceil(frameRect.right + gutter + 12), height: Math.ceil(frameRect.bottom + 12) },
  };
}

// ---- main ---------------------------------------------------------------------------------------
function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

// The card as Python's json.dumps(card) writes it (", " and ": " separators, non-ASCII as \uXXXX):
// how the bot's Bot Framework client sends it, and what tests/teams/test_adaptive.py measures.
function pyJson(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : JSON.stringify(v);
  if (typeof v === 'string') {
    const short = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
    return '"' + v.replace(/[\\"]|[^ -~]/g, (c) => short[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '"';
  }
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']';
  return '{' + Object.entries(v).map(([k, x]) => pyJson(k) + ': ' + pyJson(x)).join(', ') + '}';
}

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'] });
try {
  const maxWidth = Math.max(...opts.widths);
  const page = await browser.newPage({ viewport: { width: maxWidth + GUTTER + 60, height: 900 }, deviceScaleFactor: 1 });
  await page.setContent(pageHtml);
  await page.addScriptTag({ path: path.join(acDir, 'dist', 'adaptivecards.min.js') });
  const fontProbe = await page.evaluate(async () => {
    await document.fonts.ready;
    const c = document.createElement('canvas').getContext('2d');
    const w = (f) => { c.font = f; return c.measureText('Mail check: contoso.com 0123456789').width; };
    return { segoe_alias: w("14px 'Segoe UI'"), liberation: w("14px 'Liberation Sans'"), dejavu: w("14px 'DejaVu Sans'") };
  });
  const version = (d) => JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8')).version;
  out({ meta: {
    chromium: browser.version(), chromium_path: chromiumPath,
    adaptivecards: version(acDir), adaptivecards_designer: version(designerDir),
    playwright_core: version(pkgDir('playwright-core')),
    host_configs: Object.fromEntries(Object.entries(hostData).map(([n, h]) => [n, { config: h.configPath, css: h.cssPath }])),
    font: Math.abs(fontProbe.segoe_alias - fontProbe.liberation) < 0.01 ? 'Liberation Sans (as Segoe UI)'
      : Math.abs(fontProbe.segoe_alias - fontProbe.dejavu) < 0.01 ? 'DejaVu Sans (fallback; install fonts-liberation)' : 'other',
    cards: files.length, hosts: opts.hosts, widths: opts.widths,
  } });
  if (opts.png) mkdirSync(opts.png, { recursive: true });
  let renders = 0;
  for (const hostName of opts.hosts) {
    for (const width of opts.widths) {
      for (const file of files) {
        const name = path.basename(file, '.json');
        const cardText = readFileSync(file, 'utf8');
        let parsed;
        try { parsed = JSON.parse(cardText); } catch { /* reported by the page */ }
        const res = await page.evaluate(renderAndMeasure, {
          cardText, hostName, hostConfig: hostData[hostName].config, width, pageBg: hostData[hostName].page, gutter: GUTTER,
        });
        renders++;
        let png = null;
        if (opts.png && res.shot && (!opts.pngCards || opts.pngCards.has(name))) {
          png = path.join(opts.png, `${name}--${hostName}--${width}.png`);
          await page.screenshot({ path: png, clip: res.shot, fullPage: true });
        }
        out({
          card: name, file, host: hostName, width,
          size_bytes: parsed === undefined ? null : Buffer.byteLength(pyJson(parsed), 'utf8'),
          compact_bytes: parsed === undefined ? null : Buffer.byteLength(JSON.stringify(parsed), 'utf8'),
          file_bytes: statSync(file).size,
          height: res.height ?? null,
          errors: res.errors ?? [],
          overflow: res.overflow ?? [], truncated_buttons: res.truncated_buttons ?? [], low_contrast: res.low_contrast ?? [],
          ...(png ? { png } : {}),
        });
      }
    }
  }
  out({ done: { cards: files.length, renders, seconds: Math.round((Date.now() - started) / 100) / 10 } });
} finally {
  await browser.close();
}
