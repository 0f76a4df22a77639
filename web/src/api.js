// Client of mcval's JSON API (same origin). Every failure becomes an ApiError carrying the
// server's error code and message ({"error":{"code":...,"message":...}}), so the UI can show it.

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError('network_error', `Cannot reach the server (${err.message})`, 0);
  }
  let body = null;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const error = body && body.error ? body.error : {};
    throw new ApiError(error.code || `http_${response.status}`,
                       error.message || response.statusText || 'Request failed', response.status);
  }
  if (body === null) {
    throw new ApiError('bad_response', `The server sent no JSON for ${path}`, response.status);
  }
  return body;
}

/** @returns {Promise<Array<{name:string, slide_count:number, unreadable_count:number, total_bytes:number}>>} */
export async function listCentres() {
  const body = await getJson('/api/v1/centres');
  return Array.isArray(body.centres) ? body.centres : [];
}

/**
 * The slides of one centre, as the server describes them, read page by page (the server pages by
 * cursor, so a centre of 100,000 slides costs the same per page as a small one).
 * @param {string} centre
 * @param {(slides: Array<object>) => void} [onPage] called with every slide read so far, per page
 * @returns {Promise<Array<object>>}
 */
export async function listSlides(centre, onPage) {
  const slides = [];
  let cursor = '';
  do {
    const query = `centre=${encodeURIComponent(centre)}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const body = await getJson(`/api/v1/slides?${query}`);
    if (Array.isArray(body.slides)) slides.push(...body.slides);
    cursor = typeof body.next_cursor === 'string' ? body.next_cursor : '';
    if (onPage && cursor) onPage(slides);
  } while (cursor);
  return slides;
}

/** @returns {Promise<object>} one slide */
export function getSlide(id) {
  return getJson(`/api/v1/slides/${encodeURIComponent(id)}`);
}

export function thumbnailUrl(slide, maxPx) {
  const base = slide.urls && slide.urls.thumbnail
    ? slide.urls.thumbnail
    : `/api/v1/slides/${encodeURIComponent(slide.id)}/thumbnail`;
  return `${base}${base.includes('?') ? '&' : '?'}max=${maxPx}`;
}

export function dziUrl(slide) {
  return slide.urls && slide.urls.dzi ? slide.urls.dzi : `/dzi/${encodeURIComponent(slide.id)}.dzi`;
}

/** @returns {Promise<Array<object>>} stored validation runs, newest first */
export async function listReports() {
  const body = await getJson('/api/v1/reports');
  return Array.isArray(body.reports) ? body.reports : [];
}

/**
 * The slide's inference results, one per model (ok or failed), as the server describes them.
 * @returns {Promise<Array<object>>}
 */
export async function listInference(slideId) {
  const body = await getJson(`/api/v1/slides/${encodeURIComponent(slideId)}/inference`);
  return Array.isArray(body.results) ? body.results : [];
}

let colormapsPromise = null;

/**
 * The heatmap colormaps, each as its 256 colours ('#rrggbb'), fetched once.
 * @returns {Promise<Map<string, string[]>>}
 */
export function getColormaps() {
  if (!colormapsPromise) {
    colormapsPromise = getJson('/api/v1/colormaps')
      .then((body) => new Map((body.colormaps || []).map((c) => [c.name, c.colours])))
      .catch((err) => {
        colormapsPromise = null;
        throw err;
      });
  }
  return colormapsPromise;
}

/** The heatmap layer image of a result: one pixel per grid tile, coloured and thresholded. */
export function heatmapImageUrl(result, { classIndex, colormap, threshold }) {
  const params = new URLSearchParams({
    class: String(classIndex),
    colormap,
    threshold: String(threshold),
  });
  return `${result.urls.heatmap_png}?${params}`;
}

export function tissueImageUrl(result) {
  return result.urls.tissue_png;
}
