import type { MonthlyFigures } from './monthly-figures.js';

/**
 * The monthly report as one self-contained HTML page: no scripts, no fonts, no images from
 * anywhere; charts are inline SVG drawn here, each with a table of the same numbers beside it
 * (a chart alone cannot be checked, and screen readers read the table). Prints on A4.
 */
export function renderMonthlyHtml(figures: MonthlyFigures, meta: { title: string; generatedAt: Date }): string {
  const trusts = [...new Set(figures.byTrustCategory.map((r) => r.organisation))];
  const categories = [...new Set(figures.byTrustCategory.map((r) => r.category))].sort();
  const cell = (org: string, cat: string) => figures.byTrustCategory.find((r) => r.organisation === org && r.category === cat)?.count ?? 0;
  const trustTotals = trusts.map((org) => ({ label: org, value: categories.reduce((sum, cat) => sum + cell(org, cat), 0) }));

  const matrix = table(
    ['Category', ...trusts, 'Total'],
    categories.map((cat) => [
      esc(cat),
      ...trusts.map((org) => num(cell(org, cat), `trust-category:${org}|${cat}`)),
      num(trusts.reduce((sum, org) => sum + cell(org, cat), 0), `category:${cat}`),
    ]),
    'Cases per trust and category',
  );
  const sections = [
    section(
      'Cases per trust and category',
      hbars(
        figures.byTrustCategory.map((r) => ({ label: `${short(r.organisation)} · ${r.category}`, value: r.count })),
        'Cases per trust and category',
      ),
      matrix + table(['Trust', 'Cases'], trustTotals.map((t) => [esc(t.label), num(t.value, `trust:${t.label}`)]), 'Cases per trust'),
    ),
    section(
      'Twelve-month trend',
      trendChart(figures.trend),
      table(
        ['Month', 'Cases', 'Replied'],
        figures.trend.map((t) => [esc(t.month), num(t.total, `trend-total:${t.month}`), num(t.replied, `trend-replied:${t.month}`)]),
        'Cases and replies per month',
      ),
    ),
    section(
      'Outcomes',
      hbars(figures.outcomes.map((o) => ({ label: o.status, value: o.count })), 'Outcomes this month'),
      table(['Outcome', 'Cases'], figures.outcomes.map((o) => [esc(o.status), num(o.count, `outcome:${o.status}`)]), 'Outcomes this month'),
    ),
    ...(figures.toPerson
      ? [
          section(
            'Sent to a person, and why',
            hbars(figures.toPerson.map((r) => ({ label: r.words, value: r.count })), 'Cases sent to a person this month, by why'),
            table(
              ['Why', 'Rule', 'Cases', 'Still waiting'],
              figures.toPerson.map((r) => [esc(r.words), `<code>${esc(r.why)}</code>`, num(r.count, `to-person:${r.why}`), num(r.waiting, `to-person-waiting:${r.why}`)]),
              'Cases sent to a person this month, by why',
            ),
          ),
        ]
      : []),
    section(
      'Replies by department (sender mailbox)',
      hbars(figures.repliesBySender.map((r) => ({ label: r.mailbox, value: r.count })), 'Replies by sender mailbox'),
      table(
        ['Mailbox', 'Trust', 'Replies'],
        figures.repliesBySender.map((r) => [esc(r.mailbox), esc(r.organisation), num(r.count, `sender:${r.mailbox}`)]),
        'Replies by sender mailbox',
      ),
    ),
  ];
  const versions = table(
    ['Policy version', 'Hash', 'Cases', 'First case', 'Last case'],
    figures.policyVersions.map((v) => [esc(v.version), `<code>${esc(v.hash.slice(0, 16))}</code>`, num(v.count, `policy:${v.version}`), esc(v.first.slice(0, 16).replace('T', ' ')), esc(v.last.slice(0, 16).replace('T', ' '))]),
    'Policy versions in force',
  );
  const median = figures.medianMinutesToReply === null ? 'no replies' : `${formatMinutes(figures.medianMinutesToReply)}`;
  return `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(meta.title)}</title>
<style>
  body { font: 14px/1.4 Arial, Helvetica, sans-serif; color: #212b32; margin: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 2px solid #005eb8; }
  .meta { color: #4c6272; margin: 0 0 12px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; }
  .card { border: 1px solid #d8dde0; padding: 8px 14px; min-width: 140px; }
  .card b { display: block; font-size: 22px; color: #005eb8; }
  .pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; align-items: start; }
  table { border-collapse: collapse; margin: 0 0 10px; width: 100%; }
  caption { text-align: left; font-weight: bold; padding: 2px 0; }
  th, td { border: 1px solid #d8dde0; padding: 3px 6px; text-align: left; vertical-align: top; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  th { background: #f0f4f5; }
  svg { width: 100%; height: auto; }
  svg text { font: 11px Arial, Helvetica, sans-serif; fill: #212b32; }
  @page { size: A4 portrait; margin: 14mm; }
  @media print {
    body { margin: 0; font-size: 11px; }
    section { break-inside: avoid; }
    .pair { grid-template-columns: 1fr 1fr; }
  }
</style>
</head>
<body>
<h1>${esc(meta.title)}</h1>
<p class="meta">Month ${esc(figures.month)} (UTC). Generated ${esc(meta.generatedAt.toISOString().slice(0, 16).replace('T', ' '))} UTC.${figures.includesDryRun ? ' Includes dry-run previews.' : ' Dry-run previews excluded.'}</p>
<div class="cards">
  <div class="card">Cases this month<b data-figure="total">${figures.total}</b></div>
  <div class="card">Replies sent<b data-figure="replied">${figures.replied}</b></div>
  <div class="card">Median time to reply<b data-figure="median-minutes" data-minutes="${figures.medianMinutesToReply ?? ''}">${esc(median)}</b></div>
</div>
${sections.join('\n')}
<section><h2>Policy versions in force</h2>${versions}</section>
</body>
</html>
`;
}

function section(title: string, chart: string, tables: string): string {
  return `<section><h2>${esc(title)}</h2><div class="pair"><div class="chart">${chart}</div><div>${tables}</div></div></section>`;
}

function table(headers: string[], rows: string[][], caption: string): string {
  const body = rows.length ? rows.map((r) => `<tr>${r.map((c) => (c.startsWith('<td') ? c : `<td>${c}</td>`)).join('')}</tr>`).join('') : `<tr><td colspan="${headers.length}">none this month</td></tr>`;
  return `<table><caption>${esc(caption)}</caption><thead><tr>${headers.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

function num(value: number, figure: string): string {
  return `<td class="n" data-figure="${esc(figure)}">${value}</td>`;
}

const BAR_COLOURS = ['#005eb8', '#007f3b', '#ed8b00', '#7c2855', '#330072', '#00a499', '#ae2573', '#768692'];

function hbars(items: Array<{ label: string; value: number }>, title: string): string {
  if (items.length === 0) return `<p>No cases.</p>`;
  const rowHeight = 18;
  const labelWidth = 230;
  const width = 460;
  const max = Math.max(1, ...items.map((i) => i.value));
  const height = items.length * rowHeight + 6;
  const bars = items
    .map((item, i) => {
      const y = i * rowHeight + 3;
      const w = Math.max(1, Math.round(((width - labelWidth - 40) * item.value) / max));
      return `<text x="${labelWidth - 4}" y="${y + 12}" text-anchor="end">${esc(short(item.label, 38))}</text><rect x="${labelWidth}" y="${y}" width="${w}" height="${rowHeight - 4}" fill="${BAR_COLOURS[i % BAR_COLOURS.length]}"/><text x="${labelWidth + w + 4}" y="${y + 12}">${item.value}</text>`;
    })
    .join('');
  return `<svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>${bars}</svg>`;
}

function trendChart(trend: MonthlyFigures['trend']): string {
  const width = 460;
  const height = 200;
  const base = 170;
  const max = Math.max(1, ...trend.map((t) => t.total));
  const step = (width - 20) / trend.length;
  const bars = trend
    .map((t, i) => {
      const x = 10 + i * step;
      const h = Math.round((140 * t.total) / max);
      const hr = Math.round((140 * t.replied) / max);
      return `<rect x="${x + 2}" y="${base - h}" width="${step / 2 - 2}" height="${h}" fill="#005eb8"/><rect x="${x + step / 2}" y="${base - hr}" width="${step / 2 - 2}" height="${hr}" fill="#007f3b"/><text x="${x + step / 2}" y="${base + 14}" text-anchor="middle">${esc(t.month.slice(2))}</text><text x="${x + step / 2}" y="${base - h - 3}" text-anchor="middle">${t.total}</text>`;
    })
    .join('');
  const legend = `<rect x="10" y="2" width="10" height="10" fill="#005eb8"/><text x="24" y="11">cases</text><rect x="70" y="2" width="10" height="10" fill="#007f3b"/><text x="84" y="11">replied</text>`;
  return `<svg role="img" aria-label="Cases and replies per month" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg"><title>Cases and replies per month</title>${legend}<line x1="8" y1="${base}" x2="${width - 8}" y2="${base}" stroke="#768692"/>${bars}</svg>`;
}

function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes.toFixed(minutes < 10 ? 1 : 0)} min`;
  const hours = minutes / 60;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} days`;
}

function short(text: string, max = 30): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
