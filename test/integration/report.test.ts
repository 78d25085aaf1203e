/** dfc report --html: every section rendered in Debian's Chromium, with its charts; no network. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  compareBenchmarks,
  consolidate,
  cutover,
  monitorCheck,
  runBenchmark,
  writeHtmlReport,
} from '../../src/index.js';
import { freshDatabase } from '../helpers/db.js';

const QUICK = { iterations: 5, warmup: 1, budgetMs: 1000 };

describe('dfc report --html', () => {
  it('renders the timeline, throughput, metrics, benchmark, validation and recovery sections in Chromium', async () => {
    const url = await freshDatabase('seeded', 'rep');
    await runBenchmark(url, 'pre_consolidation', QUICK);
    await monitorCheck(url, {});
    await consolidate(url, {});
    await monitorCheck(url, {});
    await cutover(url, {});
    await monitorCheck(url, {});
    await runBenchmark(url, 'post_consolidation', QUICK);
    await compareBenchmarks(url, 'pre_consolidation', 'post_consolidation');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-report-'));
    const file = path.join(dir, 'report.html');
    const r = await writeHtmlReport(url, file);
    for (const k of ['timeline', 'throughput', 'metrics', 'benchmarks'] as const)
      expect(r.sections[k]).toBeGreaterThan(0);

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(pathToFileURL(file).toString());
      const ids = await page.$$eval('section', (s) => s.map((x) => x.id));
      expect(ids).toEqual(['timeline', 'throughput', 'metrics', 'benchmarks', 'validation', 'recovery']);
      expect(await page.locator('#timeline svg rect.op').count()).toBeGreaterThan(0);
      expect(await page.locator('#throughput svg rect.bar').count()).toBe(r.sections.throughput);
      expect(await page.locator('#metrics svg polyline.series').count()).toBeGreaterThan(0);
      expect(await page.locator('#metrics svg line.marker').count()).toBeGreaterThan(0); // the cutover
      // two bars (before, after) per compared query
      expect(await page.locator('#benchmarks svg rect.bar').count()).toBe(2 * (r.sections.benchmarks ?? 0));
      expect(await page.locator('#recovery table').count()).toBeGreaterThan(0);
      const box = await page.locator('#benchmarks svg').boundingBox();
      expect(box!.height).toBeGreaterThan(50);
      await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
      if (process.env.DFC_REPORT_SCREENSHOT)
        await page.screenshot({ path: process.env.DFC_REPORT_SCREENSHOT, fullPage: true });
      // self-contained: nothing but the file itself was requested
      expect(requests).toEqual([pathToFileURL(file).toString()]);
    } finally {
      await browser.close();
    }
  });
});
