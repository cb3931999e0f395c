import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countCases, runWorkerPass, SAMPLE_INBOX, SAMPLE_PASS_NOW, shiftedInboxCopy, writeApprovalPolicy } from '../support/lmc-fixtures.js';
import { runCli } from '../support/run-cli.js';

// The monthly report as the LMC sees it: two real worker passes (October's mail, then November's)
// fill the case log, `report` writes the page, and Debian's headless Chromium opens it from disk.
const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.warn(`lmc-report-browser: skipped, no ${CHROMIUM} (test/setup/prepare-test-env.sh installs Debian's chromium package)`);

const MONTH = '2026-11';
const MONTH_START = Date.parse('2026-11-01T00:00:00Z');
const MONTH_END = Date.parse('2026-12-01T00:00:00Z');
const IN_MONTH = `received_at >= ${MONTH_START} AND received_at < ${MONTH_END} AND dry_run = 0`;
const NOT_LISTED = '(not a listed hospital)';
const EARLIER_BY_DAYS = 28;

let dir: string;
let database: string;
let report: string;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const requests: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'lmc-report-browser-'));
  database = path.join(dir, 'cases.sqlite');
  report = path.join(dir, 'report.html');
  const policy = writeApprovalPolicy(dir);
  const october = path.join(dir, 'october-inbox');
  shiftedInboxCopy(SAMPLE_INBOX, october, EARLIER_BY_DAYS);
  const octoberNow = new Date(Date.parse(SAMPLE_PASS_NOW) - EARLIER_BY_DAYS * 86_400_000).toISOString();
  for (const pass of [
    { inbox: october, now: octoberNow },
    { inbox: SAMPLE_INBOX, now: SAMPLE_PASS_NOW },
  ]) {
    const result = await runWorkerPass({ ...pass, outbox: path.join(dir, 'outbox'), database, policy });
    expect(result.code, result.stderr).toBe(0);
  }
  const written = await runCli(['report', '--month', MONTH, '--out', report, '--database', database]);
  expect(written.code, written.stderr).toBe(0);
  if (!HAS_CHROMIUM) return;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!HAS_CHROMIUM)('monthly report in headless Chromium', () => {
  it('both passes logged cases in the months the report covers', () => {
    expect(countCases(database, IN_MONTH)).toBeGreaterThan(0);
    expect(countCases(database, `received_at >= ${Date.parse('2026-10-01')} AND received_at < ${MONTH_START}`)).toBeGreaterThan(0);
  });

  it('loads with no console errors and asks for nothing but the file itself', () => {
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(report).href]);
  });

  it('draws every chart with a size on the page, and each chart has bars', async () => {
    const charts = await page.$$('section svg');
    expect(charts).toHaveLength(5);
    for (const chart of charts) {
      const box = await chart.boundingBox();
      expect(box?.width).toBeGreaterThan(100);
      expect(box?.height).toBeGreaterThan(20);
      expect(await chart.$$eval('rect', (rects) => rects.length)).toBeGreaterThan(1);
    }
  });

  it('the charts are not blank in a screenshot: coloured bars and text on white', async () => {
    for (const chart of await page.$$('section svg')) {
      const pixels = decodePng(await chart.screenshot({ type: 'png' }));
      const colours = new Set<number>();
      let inked = 0;
      for (let i = 0; i < pixels.rgb.length; i += 3) {
        const [r, g, b] = [pixels.rgb[i]!, pixels.rgb[i + 1]!, pixels.rgb[i + 2]!];
        colours.add((r << 16) | (g << 8) | b);
        if (r < 200 || g < 200 || b < 200) inked++;
      }
      expect(colours.size, 'distinct colours in the chart').toBeGreaterThan(3);
      expect(inked / (pixels.width * pixels.height), 'share of the chart that is not white').toBeGreaterThan(0.01);
    }
  });

  it('every figure on the page equals a COUNT over the same month in the database', async () => {
    const onPage = Object.fromEntries(
      await page.$$eval('td[data-figure], b[data-figure="total"], b[data-figure="replied"]', (cells) => cells.map((cell) => [cell.getAttribute('data-figure')!, Number(cell.textContent)])),
    );
    expect(onPage).toEqual(figuresFromDatabase());
    expect(onPage.total).toBeGreaterThan(0);
  });

  it('the median time to reply on the page is the median of the database', async () => {
    const minutes = await page.$eval('[data-figure="median-minutes"]', (card) => card.getAttribute('data-minutes'));
    const handle = new Database(database, { readonly: true });
    const waits = handle
      .prepare(`SELECT (replied_at - received_at) / 60000.0 AS m FROM cases WHERE ${IN_MONTH} AND status = 'replied' AND replied_at IS NOT NULL ORDER BY m`)
      .pluck()
      .all() as number[];
    handle.close();
    expect(waits.length).toBeGreaterThan(0);
    const middle = (waits.length - 1) / 2;
    const median = (waits[Math.floor(middle)]! + waits[Math.ceil(middle)]!) / 2;
    expect(Number(minutes)).toBeCloseTo(median, 1);
  });

  it('the tables render as tables: a header row and a visible body in each', async () => {
    const tables = await page.$$eval('table', (all) => all.map((t) => ({ headers: t.tHead?.rows[0]?.cells.length ?? 0, rows: t.tBodies[0]?.rows.length ?? 0, height: t.getBoundingClientRect().height })));
    expect(tables.length).toBeGreaterThanOrEqual(6);
    for (const table of tables) {
      expect(table.headers).toBeGreaterThan(1);
      expect(table.rows).toBeGreaterThan(0);
      expect(table.height).toBeGreaterThan(20);
    }
  });

  it('prints: in print media the charts keep their size and the page saves as a PDF', async () => {
    await page.emulateMedia({ media: 'print' });
    for (const chart of await page.$$('section svg')) expect((await chart.boundingBox())?.width).toBeGreaterThan(50);
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(5_000);
    await page.emulateMedia({ media: 'screen' });
    expect(consoleErrors).toEqual([]);
  });

  it('the report file on disk is self-contained (no script, link or remote URL)', () => {
    const html = readFileSync(report, 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\(|@import/i);
    expect(html).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
  });
});

/** The figures the report should show, keyed like the page's data-figure attributes, from SQL alone. */
function figuresFromDatabase(): Record<string, number> {
  const handle = new Database(database, { readonly: true });
  try {
    const expected: Record<string, number> = {};
    const count = (where: string) => (handle.prepare(`SELECT COUNT(*) FROM cases WHERE ${where}`).pluck().get() as number);
    expected.total = count(IN_MONTH);
    expected.replied = count(`${IN_MONTH} AND status = 'replied' AND replied_at IS NOT NULL`);
    const groups = (select: string, where = IN_MONTH) => handle.prepare(`SELECT ${select} AS key, COUNT(*) AS n FROM cases WHERE ${where} GROUP BY 1`).all() as Array<{ key: string; n: number }>;
    const organisation = `COALESCE(organisation, '${NOT_LISTED}')`;
    for (const g of groups(`${organisation} || '|' || category`)) expected[`trust-category:${g.key}`] = g.n;
    // The matrix shows a zero where a trust had no case in a category that another trust had.
    const trusts = groups(organisation).map((g) => g.key);
    const categories = groups('category').map((g) => g.key);
    for (const trust of trusts) for (const category of categories) expected[`trust-category:${trust}|${category}`] ??= 0;
    for (const g of groups('category')) expected[`category:${g.key}`] = g.n;
    for (const g of groups(organisation)) expected[`trust:${g.key}`] = g.n;
    for (const g of groups('status')) expected[`outcome:${g.key}`] = g.n;
    for (const g of groups(`COALESCE(reply_to_address, from_address, '(unknown)')`, `${IN_MONTH} AND status = 'replied'`)) expected[`sender:${g.key}`] = g.n;
    for (const g of groups('policy_version')) expected[`policy:${g.key}`] = g.n;
    // Every case of the month that ever waited for a person (its events say so) is counted once, by why.
    const everWaited = `${IN_MONTH} AND id IN (SELECT case_id FROM case_events WHERE status IN ('review', 'awaiting_approval'))`;
    const toPerson = groups('to_person', everWaited);
    expect(toPerson.every((g) => g.key !== null)).toBe(true);
    for (const g of toPerson) expected[`to-person:${g.key}`] = g.n;
    for (const g of groups('to_person', `${everWaited} AND status IN ('review', 'awaiting_approval')`)) expected[`to-person-waiting:${g.key}`] = g.n;
    for (const g of toPerson) expected[`to-person-waiting:${g.key}`] ??= 0;
    for (let offset = 11; offset >= 0; offset--) {
      const start = Date.UTC(2026, 10 - offset, 1);
      const end = Date.UTC(2026, 11 - offset, 1);
      const month = new Date(start).toISOString().slice(0, 7);
      const range = `received_at >= ${start} AND received_at < ${end} AND dry_run = 0`;
      expected[`trend-total:${month}`] = count(range);
      expected[`trend-replied:${month}`] = count(`${range} AND status = 'replied'`);
    }
    return expected;
  } finally {
    handle.close();
  }
}

/**
 * Enough of PNG to read a Chromium screenshot: 8-bit RGB or RGBA, not interlaced. Returns RGB
 * bytes, so the test can look at pixels rather than at compressed bytes.
 */
function decodePng(png: Buffer): { width: number; height: number; rgb: Uint8Array } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8).toString('latin1');
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([body[8], body[12]], 'bit depth and interlace').toEqual([8, 0]);
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      expect(channels, 'colour type RGB or RGBA').toBeGreaterThan(0);
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const upLeft = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      pixels[y * stride + x] = (line[x]! + unfilter(filter, left, up, upLeft)) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < pixels.length; i += channels, j += 3) rgb.set(pixels.subarray(i, i + 3), j);
  return { width, height, rgb };
}

function unfilter(filter: number, left: number, up: number, upLeft: number): number {
  if (filter === 0) return 0;
  if (filter === 1) return left;
  if (filter === 2) return up;
  if (filter === 3) return (left + up) >> 1;
  const estimate = left + up - upLeft;
  const [toLeft, toUp, toUpLeft] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
  return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
}
