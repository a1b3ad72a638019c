/** Which text format a scrape payload is in: from its Content-Type, or from its last line. */
import { SP, TAB } from './lexer.js';
import type { ExpositionFormat } from './types.js';

/**
 * Format from an HTTP Content-Type: `application/openmetrics-text` → openmetrics,
 * `text/plain` (any version) → prometheus, anything else or absent → auto.
 */
export function formatFromContentType(contentType: string | null | undefined): ExpositionFormat | 'auto' {
  if (!contentType) return 'auto';
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (media === 'application/openmetrics-text') return 'openmetrics';
  if (media === 'text/plain') return 'prometheus';
  return 'auto';
}

/** OpenMetrics iff the last non-blank line of `text` is exactly `# EOF`. */
export function detectFormat(text: string): ExpositionFormat {
  let e = text.length;
  while (e > 0) {
    const c = text.charCodeAt(e - 1);
    if (c === 10 || c === 13 || c === SP || c === TAB) e--;
    else break;
  }
  if (e >= 5 && text.startsWith('# EOF', e - 5) && (e === 5 || text.charCodeAt(e - 6) === 10)) {
    return 'openmetrics';
  }
  return 'prometheus';
}
