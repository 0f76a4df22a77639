// The view in the URL hash, so that a link reopens the same view:
//   #centre=<name>&bg=<id>[:<opacity>:<visible>]&layers=<id>:<opacity>:<visible>,...
//    &heatmap=<model>:<opacity>:<visible>:<colormap>:<threshold>:<class>,...
//    &tissue=<model>:<opacity>:<visible>,...&x=<cx>&y=<cy>&z=<zoom>
// x, y: the viewport centre in viewport coordinates (the background is 1 wide); z: the
// OpenSeadragon viewport zoom (1 = the background's width fills the viewer's width).
// heatmap, tissue: the background's inference layers, by a prefix of the model's SHA-256.

/**
 * @typedef {{id: string, opacity: number, visible: boolean}} LayerState
 * @typedef {{kind: 'heatmap'|'tissue', model: string, opacity: number, visible: boolean,
 *            colormap?: string, threshold?: number, classIndex?: number|null}} InferenceState
 * @typedef {{centre: string|null, background: LayerState|null, layers: LayerState[],
 *            inference: InferenceState[], viewport: {x: number, y: number, zoom: number}|null}} ViewState
 */

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseLayer(text) {
  const parts = text.split(':');
  const id = parts[0] ? safeDecode(parts[0]) : '';
  if (!id) return null;
  let opacity = parts.length > 1 ? Number(parts[1]) : 1;
  if (!Number.isFinite(opacity)) opacity = 1;
  opacity = Math.min(1, Math.max(0, opacity));
  const visible = parts.length > 2 ? parts[2] !== '0' : true;
  return { id, opacity, visible };
}

function unitNumber(text, fallback) {
  const value = text === undefined || text === '' ? NaN : Number(text);
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : fallback;
}

function parseInference(kind, text) {
  const parts = text.split(':');
  const model = (parts[0] || '').toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(model)) return null;
  const state = { kind, model, opacity: unitNumber(parts[1], kind === 'tissue' ? 1 : 0.6), visible: parts[2] !== '0' };
  if (kind === 'heatmap') {
    state.colormap = parts[3] ? safeDecode(parts[3]) : 'viridis';
    state.threshold = unitNumber(parts[4], 0);
    const classIndex = parts[5] === undefined || parts[5] === '' ? NaN : Number(parts[5]);
    state.classIndex = Number.isInteger(classIndex) && classIndex >= 0 ? classIndex : null;
  }
  return state;
}

function formatInference(state) {
  const head = `${state.model}:${Number(state.opacity.toFixed(2))}:${state.visible ? 1 : 0}`;
  if (state.kind === 'tissue') return head;
  const classPart = Number.isInteger(state.classIndex) ? state.classIndex : '';
  return `${head}:${encodeURIComponent(state.colormap)}:${Number(state.threshold.toFixed(3))}:${classPart}`;
}

function formatLayer(layer, always) {
  const id = encodeURIComponent(layer.id);
  if (!always && layer.opacity === 1 && layer.visible) return id;
  return `${id}:${Number(layer.opacity.toFixed(2))}:${layer.visible ? 1 : 0}`;
}

/** @returns {ViewState} */
export function parseHash(hash) {
  // Parsed by hand: values are split on ',' and ':' before they are percent-decoded.
  const params = new Map();
  for (const part of hash.replace(/^#/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const state = { centre: null, background: null, layers: [], inference: [], viewport: null };
  const centre = params.get('centre');
  if (centre) state.centre = safeDecode(centre);
  const bg = params.get('bg');
  if (bg) state.background = parseLayer(bg);
  const layers = params.get('layers');
  if (layers) {
    state.layers = layers.split(',').map(parseLayer).filter((layer) => layer !== null);
  }
  for (const kind of ['heatmap', 'tissue']) {
    const list = params.get(kind);
    if (!list) continue;
    for (const text of list.split(',')) {
      const parsed = parseInference(kind, text);
      if (parsed) state.inference.push(parsed);
    }
  }
  const x = Number(params.get('x'));
  const y = Number(params.get('y'));
  const zoom = Number(params.get('z'));
  if (params.has('x') && params.has('y') && params.has('z')
      && Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(zoom) && zoom > 0) {
    state.viewport = { x, y, zoom };
  }
  return state;
}

/** @param {ViewState} state @returns {string} the hash, with its leading '#', or '' */
export function formatHash(state) {
  const parts = [];
  if (state.centre) parts.push(`centre=${encodeURIComponent(state.centre)}`);
  if (state.background) parts.push(`bg=${formatLayer(state.background, false)}`);
  if (state.layers.length > 0) {
    parts.push(`layers=${state.layers.map((layer) => formatLayer(layer, true)).join(',')}`);
  }
  const inference = state.background && Array.isArray(state.inference) ? state.inference : [];
  for (const kind of ['heatmap', 'tissue']) {
    const list = inference.filter((item) => item.kind === kind);
    if (list.length > 0) parts.push(`${kind}=${list.map(formatInference).join(',')}`);
  }
  if (state.background && state.viewport) {
    const { x, y, zoom } = state.viewport;
    parts.push(`x=${x.toFixed(5)}`, `y=${y.toFixed(5)}`, `z=${Number(zoom.toPrecision(5))}`);
  }
  return parts.length > 0 ? `#${parts.join('&')}` : '';
}
