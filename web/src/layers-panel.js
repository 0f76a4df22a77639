// The layer panel: the background and every layer with a visibility checkbox, an opacity slider
// and a remove button; then the background's inference layers (heatmaps with colormap,
// threshold, class and a colour legend; tissue masks), plus the background slide's details.
// Rows are kept per entry and updated in place, so a slider being dragged is never replaced
// under the pointer.

import { getColormaps } from './api.js';
import { formatBytes, formatInteger } from './format.js';
import { COLORMAPS, overlayLabel } from './inference-layers.js';

/** Threshold changes while a slider is dragged reach the server at most this often. */
const THRESHOLD_DEBOUNCE_MS = 150;
const LEGEND_TICKS = [0, 0.25, 0.5, 0.75, 1];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function slider(control, min, max, step) {
  const input = element('input', 'slider');
  input.type = 'range';
  input.min = String(min);
  input.max = String(max);
  input.step = String(step);
  input.dataset.control = control;
  return input;
}

function formatScore(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(3) : '—';
}

const AGGREGATIONS = {
  max: () => 'max',
  mean: () => 'mean',
  top_k_mean: (a) => `mean of top ${a.k}`,
  percentile: (a) => `${a.percentile}th percentile`,
};

function aggregationText(result) {
  const aggregation = result.aggregation;
  const describe = aggregation && AGGREGATIONS[aggregation.method];
  return describe ? describe(aggregation) : null;
}

let nextControlId = 1;

export class LayersPanel {
  /**
   * @param {{card: HTMLElement, list: HTMLElement, info: HTMLElement, toggle: HTMLButtonElement,
   *          body: HTMLElement}} elements
   * @param {import('./slide-viewer.js').SlideViewer} viewer
   */
  constructor(elements, viewer) {
    this.el = elements;
    this.viewer = viewer;
    /** @type {Map<number, object>} the DOM of each row, by entry or overlay key */
    this.rows = new Map();
    this.infoFor = null;
    this.thresholdTimers = new Map();
    /** @type {Map<string, string[]>|null} */
    this.colormaps = null;

    this.el.toggle.addEventListener('click', () => {
      const expanded = this.el.toggle.getAttribute('aria-expanded') !== 'true';
      this.el.toggle.setAttribute('aria-expanded', String(expanded));
      this.el.toggle.textContent = expanded ? 'Collapse' : 'Expand';
      this.el.body.hidden = !expanded;
      this.el.card.classList.toggle('collapsed', !expanded);
    });
    this.el.list.addEventListener('input', (event) => {
      const key = Number(event.target.closest('[data-key]')?.dataset.key);
      const control = event.target.dataset.control;
      if (control === 'opacity') {
        this.viewer.setOpacity(key, Number(event.target.value) / 100);
      } else if (control === 'threshold') {
        this.showThreshold(key, Number(event.target.value));
        clearTimeout(this.thresholdTimers.get(key));
        this.thresholdTimers.set(key, setTimeout(() => this.applyThreshold(key, event.target), THRESHOLD_DEBOUNCE_MS));
      }
    });
    this.el.list.addEventListener('change', (event) => {
      const key = Number(event.target.closest('[data-key]')?.dataset.key);
      const control = event.target.dataset.control;
      if (event.target.matches('input[type="checkbox"]')) {
        this.viewer.setVisible(key, event.target.checked);
      } else if (control === 'threshold') {
        this.applyThreshold(key, event.target);
      } else if (control === 'colormap') {
        this.viewer.setOverlaySettings(key, { colormap: event.target.value });
      } else if (control === 'class') {
        this.viewer.setOverlaySettings(key, { classIndex: Number(event.target.value) });
      }
    });
    this.el.list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-remove]');
      if (button) this.viewer.remove(Number(button.closest('[data-key]').dataset.key));
    });

    getColormaps().then((colormaps) => {
      this.colormaps = colormaps;
      for (const row of this.rows.values()) row.legendFor = null;
      this.render();
    }).catch((err) => console.error(err));
  }

  applyThreshold(key, input) {
    clearTimeout(this.thresholdTimers.get(key));
    this.thresholdTimers.delete(key);
    this.viewer.setOverlaySettings(key, { threshold: Number(input.value) / 100 });
  }

  /** Shows a threshold being dragged before it is applied. */
  showThreshold(key, percent) {
    const row = this.rows.get(key);
    if (!row) return;
    row.thresholdOutput.textContent = (percent / 100).toFixed(2);
    this.drawLegend(row, row.colormapSelect.value, percent / 100);
  }

  render() {
    const entries = this.viewer.entries;
    const overlays = this.viewer.overlays;
    this.el.card.hidden = entries.length === 0;

    const keys = new Set([...entries, ...overlays].map((item) => item.key));
    for (const [key, row] of this.rows) {
      if (!keys.has(key)) {
        row.row.remove();
        this.rows.delete(key);
        clearTimeout(this.thresholdTimers.get(key));
        this.thresholdTimers.delete(key);
      }
    }
    entries.forEach((entry, index) => {
      let row = this.rows.get(entry.key);
      if (!row) {
        row = this.createRow(entry);
        this.rows.set(entry.key, row);
      }
      this.updateRow(row, entry, index, entries.length);
      this.place(row, index);
    });
    overlays.forEach((overlay, index) => {
      let row = this.rows.get(overlay.key);
      if (!row) {
        row = this.createOverlayRow(overlay);
        this.rows.set(overlay.key, row);
      }
      this.updateOverlayRow(row, overlay);
      this.place(row, entries.length + index);
    });

    const background = entries.length > 0 ? entries[0].slide : null;
    if (background !== this.infoFor) {
      this.infoFor = background;
      this.renderInfo(background);
    }
  }

  /** Keeps DOM order equal to entry order, then overlay order. */
  place(row, index) {
    if (this.el.list.children[index] !== row.row) {
      this.el.list.insertBefore(row.row, this.el.list.children[index] || null);
    }
  }

  updateRow(row, entry, index, count) {
    const label = entry.slide.name || entry.slide.id;
    row.role.textContent = index === 0 ? 'Background' : `Layer ${index}`;
    row.row.classList.toggle('is-background', index === 0);
    row.row.classList.toggle('is-hidden', !entry.visible);
    row.checkbox.checked = entry.visible;
    row.checkbox.setAttribute('aria-label', `Show ${label}`);
    this.updateOpacity(row, entry, label);
    row.remove.setAttribute('aria-label', `Remove ${label}`);
    row.remove.title = index === 0 && count > 1 ? 'Remove (the first layer becomes the background)' : 'Remove';
  }

  updateOpacity(row, item, label) {
    const percent = Math.round(item.opacity * 100);
    if (document.activeElement !== row.slider) row.slider.value = String(percent);
    row.slider.setAttribute('aria-label', `Opacity of ${label}`);
    row.output.textContent = `${percent}%`;
  }

  createRow(entry) {
    const slide = entry.slide;
    const row = element('li', 'layer');
    row.dataset.key = String(entry.key);

    const checkbox = element('input', 'layer-visible');
    checkbox.type = 'checkbox';

    const main = element('div', 'layer-main');
    const head = element('div', 'layer-head');
    const role = element('span', 'layer-role');
    const name = element('span', 'layer-name', slide.name || slide.id);
    name.title = `${slide.relative_path || slide.name} (${slide.id})`;
    head.append(role, name);

    const { container: opacity, input: opacitySlider, output } = this.opacityControl();
    main.append(head, opacity);

    const remove = element('button', 'icon-btn', '×');
    remove.type = 'button';
    remove.dataset.remove = '1';

    row.append(checkbox, main, remove);
    return { row, checkbox, slider: opacitySlider, output, role, name, remove };
  }

  opacityControl() {
    const container = element('div', 'layer-opacity');
    const input = slider('opacity', 0, 100, 1);
    const output = element('output', 'layer-opacity-value');
    container.append(input, output);
    return { container, input, output };
  }

  // ---- inference layers ----

  createOverlayRow(overlay) {
    const result = overlay.result;
    const label = overlayLabel(overlay);
    const row = element('li', `layer layer-inference layer-${overlay.kind}`);
    row.dataset.key = String(overlay.key);
    const parts = { row, label };

    const checkbox = element('input', 'layer-visible');
    checkbox.type = 'checkbox';
    checkbox.setAttribute('aria-label', `Show ${label}`);
    checkbox.disabled = !overlay.available;
    parts.checkbox = checkbox;

    const main = element('div', 'layer-main');
    const head = element('div', 'layer-head');
    const role = element('span', 'layer-role', 'Inference');
    const name = element('span', 'layer-name', label);
    name.title = `${label} (model ${result.model_sha256.slice(0, 16)}…)`;
    head.append(role, name);
    main.append(head);

    if (!overlay.available) {
      const reason = element('p', 'layer-note error-text',
                             `Inference failed${result.error_code ? ` (${result.error_code})` : ''}: ${result.reason || 'no reason given'}`);
      main.append(reason);
      row.append(checkbox, main);
      return parts;
    }

    if (overlay.kind === 'heatmap') main.append(this.scoreLine(result));
    if (overlay.kind === 'tissue') {
      const fraction = typeof result.tissue_fraction === 'number'
        ? `${(result.tissue_fraction * 100).toFixed(1)}% of the slide is tissue` : 'tissue detected';
      main.append(element('p', 'layer-note', fraction));
    }

    const { container: opacity, input: opacitySlider, output } = this.opacityControl();
    parts.slider = opacitySlider;
    parts.output = output;
    main.append(opacity);

    if (overlay.kind === 'heatmap') main.append(this.heatmapControls(overlay, parts));
    row.append(checkbox, main);
    return parts;
  }

  scoreLine(result) {
    const line = element('p', 'layer-score');
    const positive = result.class_names && result.class_names[result.positive_class];
    const value = element('strong', 'layer-score-value', formatScore(result.score));
    const how = [positive ? `P(${positive})` : null, aggregationText(result),
                 typeof result.tiles_scored === 'number' ? `${formatInteger(result.tiles_scored)} tiles` : null]
      .filter(Boolean).join(' · ');
    line.append('Slide score ', value);
    if (how) line.append(element('span', 'layer-score-detail', ` ${how}`));
    return line;
  }

  heatmapControls(overlay, parts) {
    const controls = element('div', 'heatmap-controls');
    const label = parts.label;

    const colormapId = `heatmap-control-${nextControlId++}`;
    const colormapLabel = element('label', 'control-label', 'Colormap');
    colormapLabel.htmlFor = colormapId;
    const colormapSelect = element('select', 'control-select');
    colormapSelect.id = colormapId;
    colormapSelect.dataset.control = 'colormap';
    colormapSelect.setAttribute('aria-label', `Colormap of ${label}`);
    for (const name of COLORMAPS) colormapSelect.append(new Option(name, name));
    controls.append(colormapLabel, colormapSelect);
    parts.colormapSelect = colormapSelect;

    const classNames = overlay.result.class_names || [];
    if (classNames.length > 2) {
      const classId = `heatmap-control-${nextControlId++}`;
      const classLabel = element('label', 'control-label', 'Class');
      classLabel.htmlFor = classId;
      const classSelect = element('select', 'control-select');
      classSelect.id = classId;
      classSelect.dataset.control = 'class';
      classSelect.setAttribute('aria-label', `Class of ${label}`);
      classNames.forEach((name, index) => classSelect.append(new Option(name, String(index))));
      controls.append(classLabel, classSelect);
      parts.classSelect = classSelect;
    }

    const thresholdId = `heatmap-control-${nextControlId++}`;
    const thresholdLabel = element('label', 'control-label', 'Threshold');
    thresholdLabel.htmlFor = thresholdId;
    const threshold = element('div', 'layer-opacity');
    const thresholdSlider = slider('threshold', 0, 100, 1);
    thresholdSlider.id = thresholdId;
    thresholdSlider.setAttribute('aria-label', `Threshold of ${label}`);
    const thresholdOutput = element('output', 'layer-opacity-value');
    threshold.append(thresholdSlider, thresholdOutput);
    controls.append(thresholdLabel, threshold);
    parts.thresholdSlider = thresholdSlider;
    parts.thresholdOutput = thresholdOutput;

    const legend = element('figure', 'heatmap-legend');
    const canvas = element('canvas', 'heatmap-legend-bar');
    canvas.width = 256;
    canvas.height = 1;
    canvas.setAttribute('role', 'img');
    const ticks = element('div', 'heatmap-legend-ticks');
    for (const tick of LEGEND_TICKS) ticks.append(element('span', '', String(tick)));
    const caption = element('figcaption', 'visually-hidden');
    legend.append(canvas, ticks, caption);
    controls.append(legend);
    parts.legendCanvas = canvas;
    parts.legendCaption = caption;
    parts.legendFor = null;
    return controls;
  }

  updateOverlayRow(row, overlay) {
    row.row.classList.toggle('is-hidden', !overlay.visible || !overlay.available);
    row.checkbox.checked = overlay.available && overlay.visible;
    if (!overlay.available) return;
    this.updateOpacity(row, overlay, row.label);
    if (overlay.kind !== 'heatmap') return;
    if (document.activeElement !== row.colormapSelect) row.colormapSelect.value = overlay.colormap;
    if (row.classSelect && document.activeElement !== row.classSelect) {
      row.classSelect.value = String(overlay.classIndex);
    }
    const percent = Math.round(overlay.threshold * 100);
    if (document.activeElement !== row.thresholdSlider && !this.thresholdTimers.has(overlay.key)) {
      row.thresholdSlider.value = String(percent);
      row.thresholdOutput.textContent = overlay.threshold.toFixed(2);
      this.drawLegend(row, overlay.colormap, overlay.threshold);
    }
  }

  /** The colour bar from 0 to 1; the part below the threshold (not drawn) is faded. */
  drawLegend(row, colormap, threshold) {
    const key = `${colormap}|${threshold}`;
    if (row.legendFor === key) return;
    const colours = this.colormaps ? this.colormaps.get(colormap) : null;
    row.legendCaption.textContent = `Colour legend: ${colormap}, from 0 (left) to 1 (right); `
      + `tiles below ${threshold.toFixed(2)} are not drawn.`;
    row.legendCanvas.setAttribute('aria-label', row.legendCaption.textContent);
    if (!colours) return;
    row.legendFor = key;
    const context = row.legendCanvas.getContext('2d');
    context.clearRect(0, 0, 256, 1);
    colours.forEach((colour, index) => {
      context.globalAlpha = (index + 1) / 256 <= threshold ? 0.2 : 1;
      context.fillStyle = colour;
      context.fillRect(index, 0, 1, 1);
    });
    context.globalAlpha = 1;
  }

  renderInfo(slide) {
    if (!slide) {
      this.el.info.replaceChildren();
      return;
    }
    const rows = [
      ['Name', slide.name],
      ['Centre', slide.centre],
      ['Vendor', slide.vendor || '—'],
      ['Dimensions', slide.width && slide.height
        ? `${formatInteger(slide.width)} × ${formatInteger(slide.height)} px` : '—'],
      ['Levels', Array.isArray(slide.levels) && slide.levels.length > 0
        ? `${slide.levels.length} (downsample ${slide.levels.map((l) => trimNumber(l.downsample)).join(', ')})` : '—'],
      ['Resolution', typeof slide.mpp_x === 'number'
        ? `${trimNumber(slide.mpp_x)} × ${trimNumber(slide.mpp_y ?? slide.mpp_x)} µm/px` : 'not calibrated'],
      ['Objective', typeof slide.objective_power === 'number' ? `${trimNumber(slide.objective_power)}×` : '—'],
      ['File size', formatBytes(slide.file_bytes)],
    ];
    const nodes = [];
    for (const [term, value] of rows) {
      nodes.push(element('dt', '', term), element('dd', '', value));
    }
    this.el.info.replaceChildren(...nodes);
  }
}

function trimNumber(value) {
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : '—';
}
