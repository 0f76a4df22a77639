// The inference layers of a slide: for each model's result a heatmap and a tissue mask (a
// failed result is one unavailable heatmap row that carries the reason), their default
// settings, and their state in the URL (only layers shown or changed from the defaults).

export const COLORMAPS = ['viridis', 'magma', 'inferno', 'jet', 'gray'];
export const HEATMAP_DEFAULTS = Object.freeze({ opacity: 0.6, visible: false, colormap: 'viridis', threshold: 0 });
export const TISSUE_DEFAULTS = Object.freeze({ opacity: 1, visible: false });
/** Hex digits of the model hash the URL keeps (the server takes any unique prefix of >= 8). */
export const MODEL_PREFIX_DIGITS = 16;

/** "tiny-cnn 1.0" */
export function modelLabel(result) {
  return [result.model_name || result.model_sha256.slice(0, 12), result.model_version].filter(Boolean).join(' ');
}

/** The label of an overlay's row: "Heatmap: tiny-cnn 1.0", "Tissue mask: tiny-cnn 1.0". */
export function overlayLabel(overlay) {
  return `${overlay.kind === 'tissue' ? 'Tissue mask' : 'Heatmap'}: ${modelLabel(overlay.result)}`;
}

function defaultClass(result) {
  const classes = Array.isArray(result.class_names) ? result.class_names.length : 0;
  const positive = Number.isInteger(result.positive_class) ? result.positive_class : 0;
  return positive >= 0 && positive < Math.max(1, classes) ? positive : 0;
}

/**
 * The overlays of a slide's results, with the settings a URL asked for where it names them.
 * @param {Array<object>} results as /api/v1/slides/{id}/inference lists them
 * @param {Array<object>} [states] parsed from the URL (see url-state.js)
 */
export function overlaysFor(results, states = []) {
  const wanted = (kind, result) => states.find((state) => state.kind === kind
    && state.model.length >= 8 && result.model_sha256.startsWith(state.model));
  const overlays = [];
  for (const result of results) {
    const available = result.status === 'ok';
    const heatmap = {
      kind: 'heatmap', result, available, ...HEATMAP_DEFAULTS, classIndex: defaultClass(result),
    };
    const heatmapState = available ? wanted('heatmap', result) : null;
    if (heatmapState) {
      const classes = result.class_names.length;
      Object.assign(heatmap, {
        opacity: heatmapState.opacity,
        visible: heatmapState.visible,
        colormap: COLORMAPS.includes(heatmapState.colormap) ? heatmapState.colormap : heatmap.colormap,
        threshold: heatmapState.threshold,
        classIndex: heatmapState.classIndex !== null && heatmapState.classIndex < classes
          ? heatmapState.classIndex : heatmap.classIndex,
      });
    }
    overlays.push(heatmap);
    if (!available) continue;
    const tissue = { kind: 'tissue', result, available, ...TISSUE_DEFAULTS };
    const tissueState = wanted('tissue', result);
    if (tissueState) Object.assign(tissue, { opacity: tissueState.opacity, visible: tissueState.visible });
    overlays.push(tissue);
  }
  return overlays;
}

function isDefault(overlay) {
  if (overlay.kind === 'tissue') return overlay.opacity === TISSUE_DEFAULTS.opacity;
  return overlay.opacity === HEATMAP_DEFAULTS.opacity && overlay.colormap === HEATMAP_DEFAULTS.colormap
    && overlay.threshold === HEATMAP_DEFAULTS.threshold && overlay.classIndex === defaultClass(overlay.result);
}

/** The overlays worth keeping in the URL: shown, or with settings of their own. */
export function overlayStates(overlays) {
  return overlays
    .filter((overlay) => overlay.available && (overlay.visible || !isDefault(overlay)))
    .map((overlay) => ({
      kind: overlay.kind,
      model: overlay.result.model_sha256.slice(0, MODEL_PREFIX_DIGITS),
      opacity: overlay.opacity,
      visible: overlay.visible,
      ...(overlay.kind === 'heatmap'
        ? { colormap: overlay.colormap, threshold: overlay.threshold, classIndex: overlay.classIndex } : {}),
    }));
}
