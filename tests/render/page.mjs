// Open an `ndrbot preview` page in headless Chromium and report what a reader would see, as
// one JSON object: for each Teams pane, whether Microsoft's renderer drew the card, its text and
// how far anything reaches past the pane; the Slack pane's header; and any script error.
//   node page.mjs PAGE.html CHROMIUM [PNG]
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const [page, executablePath, png] = process.argv.slice(2);

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const tab = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const errors = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  tab.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await tab.goto(pathToFileURL(page).href);
  await tab.waitForSelector('#teams-dark .ac-adaptiveCard', { timeout: 15000 }).catch(() => {});
  const seen = await tab.evaluate(() => {
    const pane = (id) => {
      const el = document.querySelector(`#${id} .card`);
      const card = el && el.querySelector('.ac-adaptiveCard');
      if (!card) return { drawn: false };
      const edge = el.getBoundingClientRect().right;
      let over = 0;
      for (const node of card.querySelectorAll('*')) {
        over = Math.max(over, node.getBoundingClientRect().right - edge);
      }
      return { drawn: true, text: card.innerText, over: Math.round(over) };
    };
    const slack = document.querySelector('#slack h3');
    return {
      light: pane('teams-light'),
      dark: pane('teams-dark'),
      slack: slack ? slack.innerText : null,
      links: [...document.querySelectorAll('#slack a')].map((a) => a.href),
    };
  });
  if (png) await tab.screenshot({ path: png, fullPage: true });
  console.log(JSON.stringify({ ...seen, errors }));
} finally {
  await browser.close();
}
