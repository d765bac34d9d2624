import { html } from '/panel/vendor/preact-htm.js';

const hourLabel = (iso) => `${iso.slice(11, 13)}:00`;

/**
 * Delivered vs failed attempts per hour (SPEC §5.8 stats) as an SVG image with a text alternative: the image is
 * labelled by a one-line summary, and the hour-by-hour numbers are in a table behind a disclosure.
 */
export function DeliveryChart({ stats, label, idPrefix }) {
  if (!stats) return html`<p class="muted">Loading the 24-hour chart…</p>`;
  const buckets = stats.buckets;
  const delivered = buckets.reduce((n, b) => n + b.delivered, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  const max = Math.max(1, ...buckets.map((b) => b.delivered + b.failed));
  const W = 240;
  const H = 64;
  const slot = W / buckets.length;
  const bar = Math.max(1, slot - 2);
  const summary = `${label}: ${delivered} delivered and ${failed} failed attempts in the last ${stats.hours} hours`;
  const titleId = `${idPrefix}-chart-title`;
  return html`
    <figure class="chart">
      <svg viewBox="0 0 ${W} ${H + 2}" role="img" aria-labelledby=${titleId} preserveAspectRatio="none" focusable="false">
        <title id=${titleId}>${summary}</title>
        <line x1="0" y1=${H + 1} x2=${W} y2=${H + 1} class="axis" />
        ${buckets.map((b, i) => {
          const dh = (b.delivered / max) * H;
          const fh = (b.failed / max) * H;
          return html`<g>
            <rect class="bar-delivered" x=${i * slot + 1} y=${H - dh} width=${bar} height=${dh} />
            <rect class="bar-failed" x=${i * slot + 1} y=${H - dh - fh} width=${bar} height=${fh} />
          </g>`;
        })}
      </svg>
      <figcaption>
        <span class="legend legend-delivered">${delivered} delivered</span>
        <span class="legend legend-failed">${failed} failed</span>
        <span class="muted"> · last ${stats.hours} h, per hour (UTC)</span>
      </figcaption>
      <details>
        <summary>Hourly numbers</summary>
        <table>
          <caption class="sr-only">${summary}</caption>
          <thead><tr><th scope="col">Hour (UTC)</th><th scope="col">Delivered</th><th scope="col">Failed</th></tr></thead>
          <tbody>
            ${buckets.map((b) => html`<tr><th scope="row">${b.start.slice(0, 10)} ${hourLabel(b.start)}</th><td>${b.delivered}</td><td>${b.failed}</td></tr>`)}
          </tbody>
        </table>
      </details>
    </figure>
  `;
}
